/// One message of a chat conversation, as sent to a model or received from it.
public struct ChatMessage: Codable, Sendable, Hashable {
    /// Who speaks a message. The raw values are the `turns.role` column and both APIs' wire names.
    public enum Role: String, Codable, Sendable, CaseIterable { case system, user, assistant }

    public var role: Role
    /// The text, byte for byte.
    public var content: String

    public init(_ role: Role, _ content: String) {
        self.role = role
        self.content = content
    }
}
