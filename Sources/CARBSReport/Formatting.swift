import Foundation

/// Number and text formatting shared by the report's pictures, tables and page.
enum Formatting {
    /// Four significant digits, scientific notation outside [1e-3, 1e4).
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "–" : (value > 0 ? "∞" : "−∞") }
        if value == 0 { return "0" }
        return String(format: abs(value) >= 1e4 || abs(value) < 1e-3 ? "%.3e" : "%.4g", value)
    }

    /// A tick label: plain for 1e-3 ≤ |v| < 1e5, else mantissa and a power of ten with superscript digits.
    static func tick(_ value: Double) -> String {
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e-3 && magnitude < 1e5 {
            return String(format: "%g", (value * 1e6).rounded() / 1e6)
        }
        let exponent = Int(floor(log10(magnitude) + 1e-9))
        let mantissa = value / pow(10, Double(exponent))
        let power = "10" + superscript(exponent)
        if abs(mantissa - 1) < 1e-6 { return power }
        return String(format: "%g", (mantissa * 100).rounded() / 100) + "×" + power
    }

    static func superscript(_ value: Int) -> String {
        let digits: [Character] = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
        let body = String(abs(value)).map { digits[Int(String($0))!] }
        return (value < 0 ? "⁻" : "") + String(body)
    }

    /// Escapes text for XML and HTML.
    static func escaped(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }

    /// A coordinate with two decimals.
    static func coordinate(_ value: Double) -> String {
        String(format: "%.2f", value)
    }
}
