import Domain
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Serves a `ViewerSite` over HTTP until SIGINT or SIGTERM, with the protections a page of
/// untrusted model text needs: a Content-Security-Policy that allows no script at all, a token on
/// every request when bound beyond this machine, a Host check against DNS rebinding, and an
/// audit form that refuses cross-site posts.
public struct ViewerServer: Sendable {
    public var host: String
    public var port: Int
    /// Required on every request when set: `?token=` (which sets a cookie), the cookie, or
    /// `Authorization: Bearer`.
    public var token: String?

    public init(host: String, port: Int, token: String?) {
        self.host = host
        self.port = port
        self.token = token
    }

    /// True for 127.0.0.0/8, ::1 and localhost: the addresses only this machine reaches.
    public static func isLoopback(_ host: String) -> Bool {
        let lower = host.lowercased()
        return lower == "localhost" || lower == "::1" || lower.hasPrefix("127.")
    }

    /// What every page is served with. No script may run (`default-src 'none'` and no
    /// `script-src`), styles come only from the stylesheet, images from this server, forms post
    /// only here, and no other site may frame the pages.
    public static let securityHeaders: [(String, String)] = [
        (
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
                + "frame-ancestors 'none'"
        ),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Cache-Control", "no-store"),
    ]

    /// Runs until a signal stops it; `started` gets the port bound (useful with port 0).
    public func run(_ site: ViewerSite, started: @escaping @Sendable (Int) -> Void) async throws {
        var logger = Logger(label: "hvae.view")
        logger.logLevel = .critical
        let guardrails = Guardrails(token: token, loopbackOnly: Self.isLoopback(host))
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            var request = request
            let reply = await guardrails.respond(to: &request, site: site)
            return Self.response(reply.response, extraHeaders: reply.headers)
        }
        let app = Application(
            responder: responder,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in started(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await app.runService()
    }

    static func response(_ reply: ViewerResponse, extraHeaders: [(String, String)]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = reply.contentType
        for (name, value) in securityHeaders + extraHeaders {
            if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
        }
        if let location = reply.location { headers[.location] = location }
        return Response(
            status: HTTPResponse.Status(code: reply.status), headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: reply.body)))
    }
}

/// The checks every request passes before the site sees it.
struct Guardrails: Sendable {
    let token: String?
    let loopbackOnly: Bool
    static let cookie = "hvae_token"

    func respond(to request: inout Request, site: ViewerSite) async -> (
        response: ViewerResponse, headers: [(String, String)]
    ) {
        let query = Query(parsing: Substring(request.uri.query ?? ""))
        var headers: [(String, String)] = []
        if loopbackOnly, let authority = request.head.authority, !Self.isLoopbackAuthority(authority) {
            // A page of another site that resolves its own name to 127.0.0.1 (DNS rebinding) sends
            // its own name as Host: refused, so it cannot read these pages.
            return (site.errorPage(PageError(status: 403, message: "This viewer answers only to localhost.")), [])
        }
        if let token {
            let offered =
                query.first("token") ?? Self.cookieValue(request.headers[values: .cookie], name: Self.cookie)
                ?? request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
            guard let offered, Self.equalInConstantTime(offered, token) else {
                return (
                    site.errorPage(
                        PageError(
                            status: 401,
                            message:
                                "This viewer needs its token: open the URL `hvae view` printed "
                                + "(it ends in ?token=…).")),
                    []
                )
            }
            if query.first("token") != nil {
                headers.append(("Set-Cookie", "\(Self.cookie)=\(token); HttpOnly; SameSite=Strict; Path=/"))
            }
        }
        let path = request.uri.path
        switch request.method {
        case .get, .head:
            return (await site.respond(path: path, query: query), headers)
        case .post where path == "/audit/label":
            guard Self.isSameOrigin(request) else {
                return (
                    site.errorPage(
                        PageError(status: 403, message: "Labels are accepted only from this viewer's own pages.")),
                    headers
                )
            }
            guard request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true,
                let body = try? await request.collectBody(upTo: 64 * 1024)
            else {
                return (site.errorPage(.badRequest("A label is sent by the audit page's form.")), headers)
            }
            return (await site.label(Query(parsing: Substring(String(buffer: body)))), headers)
        default:
            return (site.errorPage(PageError(status: 405, message: "This viewer only shows pages (GET).")), headers)
        }
    }

    /// A browser names the site a post comes from: Sec-Fetch-Site (every current browser), else
    /// Origin. A post from another site is refused. A client that sends neither is not a browser
    /// and cannot be made to post by another site's page.
    static func isSameOrigin(_ request: Request) -> Bool {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!] {
            return site == "same-origin" || site == "none"
        }
        if let origin = request.headers[.origin] {
            guard let authority = request.head.authority else { return false }
            return origin == "http://\(authority)" || origin == "https://\(authority)"
        }
        return true
    }

    static func isLoopbackAuthority(_ authority: String) -> Bool {
        var host = Substring(authority)
        if host.hasPrefix("[") {
            host = host.dropFirst().prefix { $0 != "]" }
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        return ViewerServer.isLoopback(String(host))
    }

    static func cookieValue(_ headers: [String], name: String) -> String? {
        for header in headers {
            for part in header.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0] == name { return String(pair[1]) }
            }
        }
        return nil
    }

    /// Compares digests, so the time taken says nothing about how much of a guess was right.
    static func equalInConstantTime(_ a: String, _ b: String) -> Bool {
        Digest.sha256(Data(a.utf8)) == Digest.sha256(Data(b.utf8))
    }
}
