import Foundation

/// Text in the figures: its font, an estimate of its drawn width, and fitting it to a width.
/// The figures are plain SVG, laid out here without a font engine: widths are estimated from
/// display width (a CJK character or an emoji takes two columns) at a generous 0.6 em per column,
/// so that text never runs into its neighbours.
enum SVGText {
    /// Latin fonts first, then fonts with CJK and emoji glyphs, so that a model named in Chinese
    /// or with an emoji is drawn rather than shown as boxes wherever one of them is installed.
    static let fontFamily = "DejaVu Sans, Helvetica, Arial, Noto Sans, Noto Sans CJK SC, Noto Color Emoji, sans-serif"

    static func width(_ text: String, size: Double) -> Double {
        Double(DisplayWidth.of(text)) * size * 0.6
    }

    /// `text` cut with an ellipsis so that it fits `width` at `size`.
    static func fit(_ text: String, width: Double, size: Double) -> String {
        guard self.width(text, size: size) > width else { return text }
        var cut = ""
        for character in text {
            if self.width(cut + String(character) + "…", size: size) > width { break }
            cut.append(character)
        }
        return cut + "…"
    }

    /// The largest font size from `size` down to `smallest` at which `text` fits `width`, and the
    /// text (cut if it does not fit even then).
    static func shrink(_ text: String, width: Double, size: Double, smallest: Double) -> (text: String, size: Double) {
        var size = size
        while size > smallest, self.width(text, size: size) > width { size -= 1 }
        return (fit(text, width: width, size: size), size)
    }

    /// Text for SVG content and attributes: HTML's escaping, which is XML's too (and keeps a
    /// U+0000, which XML forbids, out of the file).
    static func escape(_ text: String) -> String { HTML.escape(text) }

    static func number(_ x: Double) -> String { String(format: "%.2f", x) }

    /// Legend entries laid out left to right, wrapping to a new line where the next would not fit.
    /// Returns each entry's (x, y) and the lines used.
    static func flow(_ widths: [Double], from x: Double, to right: Double, top: Double, lineHeight: Double)
        -> (positions: [(x: Double, y: Double)], lines: Int)
    {
        var positions: [(Double, Double)] = []
        var (cx, cy, lines) = (x, top, widths.isEmpty ? 0 : 1)
        for width in widths {
            if cx > x, cx + width > right {
                cx = x
                cy += lineHeight
                lines += 1
            }
            positions.append((cx, cy))
            cx += width + 24
        }
        return (positions, lines)
    }
}
