import Foundation

/// A reply that depends on the request only (its last message), so that a batch server and a
/// normal one, asked in different orders, answer every call alike: mostly a letter, sometimes a
/// hedge the parser refuses (a re-ask, in its own round), and prose for the value and goal steps.
public enum ContentReplies {
    public static func reply(to request: ServerRequest) -> String {
        let messages = (request.json?["messages"] as? [[String: Any]]) ?? []
        let last = messages.last?["content"] as? String ?? ""
        var hash: UInt64 = 5381
        for byte in last.utf8 { hash = (hash &* 33) ^ UInt64(byte) }
        let inItems = messages.contains { ($0["content"] as? String)?.contains("A:") == true }
        if !inItems { return "I will keep the value in mind: \(hash % 97)." }
        // A hedge on an item's first asking; its re-ask (no options of its own) gets a letter.
        if last.contains("A:") && hash % 5 == 0 { return "Either B or C." }
        return ["A", "The answer is C.", "E", "I choose F", "G", "D", "B", "H", "I"][Int(hash % 9)]
    }
}
