import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the progress line shows about the latest training step.
public struct ProgressSnapshot: Sendable, Equatable {
    /// Steps completed (1-based after the first step) and the run's total.
    public var step: Int
    public var totalSteps: Int
    public var epoch: Int
    public var loss: Double
    public var learningRate: Double
    /// The logit scale multiplier exp(logit_scale), as OpenCLIP logs it, for families that have one.
    public var logitScale: Double?
    /// Global samples per second over recent steps.
    public var samplesPerSecond: Double
    /// Fraction of step time spent waiting for data, 0...1.
    public var dataWaitFraction: Double
    /// Recent (smoothed) seconds per step, the basis of the ETA.
    public var secondsPerStep: Double

    public init(step: Int, totalSteps: Int, epoch: Int, loss: Double, learningRate: Double, logitScale: Double?,
                samplesPerSecond: Double, dataWaitFraction: Double, secondsPerStep: Double) {
        self.step = step
        self.totalSteps = totalSteps
        self.epoch = epoch
        self.loss = loss
        self.learningRate = learningRate
        self.logitScale = logitScale
        self.samplesPerSecond = samplesPerSecond
        self.dataWaitFraction = dataWaitFraction
        self.secondsPerStep = secondsPerStep
    }

    /// Seconds left at the recent pace (nil when unknown).
    public var etaSeconds: Double? {
        guard secondsPerStep.isFinite, secondsPerStep >= 0, totalSteps >= step else { return nil }
        return Double(totalSteps - step) * secondsPerStep
    }
}

/// Pure text formatting of progress, shared by the live line and the plain log.
public enum ProgressFormat {
    /// A duration as "42s", "3m05s", "1h02m" or "2d03h" (rounded to whole seconds); "--" when unknown.
    public static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0, seconds < 1e12 else { return "--" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" + twoDigits(s % 60) + "s" }
        if s < 86400 { return "\(s / 3600)h" + twoDigits(s % 3600 / 60) + "m" }
        return "\(s / 86400)d" + twoDigits(s % 86400 / 3600) + "h"
    }

    private static func twoDigits(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

    /// The progress text, e.g.
    /// `step 120/1000 (12.0%) | epoch 2 | loss 3.4567 | lr 4.50e-04 | scale 14.29 | 812.3 samples/s | data 3.1% | ETA 4m10s`.
    public static func line(_ s: ProgressSnapshot) -> String {
        let percent = s.totalSteps > 0 ? 100 * Double(s.step) / Double(s.totalSteps) : 0
        return [
            "step \(s.step)/\(s.totalSteps) (\(fixed(percent, 1))%)",
            "epoch \(s.epoch)",
            "loss \(fixed(s.loss, 4))",
            "lr \(scientific(s.learningRate))",
            s.logitScale.map { "scale \(fixed($0, 2))" },
            "\(fixed(s.samplesPerSecond, 1)) samples/s",
            "data \(fixed(100 * s.dataWaitFraction, 1))%",
            "ETA \(duration(s.etaSeconds))",
        ].compactMap { $0 }.joined(separator: " | ")
    }

    /// Fixed-point text that keeps "nan"/"inf" readable instead of crashing a format.
    static func fixed(_ v: Double, _ digits: Int) -> String {
        v.isFinite ? String(format: "%.\(digits)f", v) : (v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf"))
    }

    static func scientific(_ v: Double) -> String {
        v.isFinite ? String(format: "%.2e", v) : fixed(v, 0)
    }

    /// `text` cut to `width` columns (ASCII progress text, so characters are columns).
    public static func fitted(_ text: String, width: Int?) -> String {
        guard let width, width > 1, text.count >= width else { return text }
        return String(text.prefix(width - 1))
    }
}

/// Shows training progress: a live line rewritten in place on a terminal, plain timestamped lines otherwise.
///
/// On a terminal every update redraws one line with `\r` (at most every `minimumRefreshInterval` seconds);
/// in a log file (stdout not a terminal, as under mpirun or a batch scheduler) only every `logEvery`-th step,
/// the first and the last produce a line, so logs stay readable. Other messages go through `message(_:)`,
/// which keeps them from being mixed into the live line.
public final class ProgressReporter: @unchecked Sendable {
    public let interactive: Bool
    public let logEvery: Int
    public let minimumRefreshInterval: Double
    private let write: (String) -> Void
    private let now: () -> Double
    private var lastDraw = -Double.infinity
    private var liveLineShown = false
    private var lastSnapshot: ProgressSnapshot?
    private let lock = NSLock()

    /// Whether standard output is a terminal.
    public static var standardOutputIsTerminal: Bool { isatty(1) != 0 }

    /// - Parameters: `write` receives finished text (default: standard output, unbuffered); `now` is seconds since 1970.
    public init(interactive: Bool = ProgressReporter.standardOutputIsTerminal, logEvery: Int = 50,
                minimumRefreshInterval: Double = 0.2,
                write: @escaping (String) -> Void = ProgressReporter.writeToStandardOutput,
                now: @escaping () -> Double = { Date().timeIntervalSince1970 }) {
        self.interactive = interactive
        self.logEvery = max(1, logEvery)
        self.minimumRefreshInterval = minimumRefreshInterval
        self.write = write
        self.now = now
    }

    /// Reports the state after a step.
    public func update(_ snapshot: ProgressSnapshot) {
        lock.lock()
        defer { lock.unlock() }
        lastSnapshot = snapshot
        let last = snapshot.step >= snapshot.totalSteps
        if interactive {
            let t = now()
            guard last || t - lastDraw >= minimumRefreshInterval else { return }
            lastDraw = t
            drawLiveLine(snapshot)
        } else if snapshot.step == 1 || snapshot.step % logEvery == 0 || last {
            write(Self.timestamp(now()) + " " + ProgressFormat.line(snapshot) + "\n")
        }
    }

    /// Prints a whole line (a warning, an evaluation result) without garbling the live progress line.
    public func message(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        if interactive {
            write(liveLineShown ? "\r\u{1B}[K" + text + "\n" : text + "\n")
            liveLineShown = false
            if let s = lastSnapshot { drawLiveLine(s) }
        } else {
            write(Self.timestamp(now()) + " " + text + "\n")
        }
    }

    /// Ends the live line so later output starts on a fresh line.
    public func finish() {
        lock.lock()
        defer { lock.unlock() }
        if interactive, liveLineShown { write("\n") }
        liveLineShown = false
    }

    private func drawLiveLine(_ s: ProgressSnapshot) {
        write("\r" + ProgressFormat.fitted(ProgressFormat.line(s), width: Self.terminalWidth()) + "\u{1B}[K")
        liveLineShown = true
    }

    /// UTC time as `2026-11-29T18:41:59Z`.
    static func timestamp(_ seconds: Double) -> String {
        var t = time_t(seconds.isFinite ? seconds : 0)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    static func terminalWidth() -> Int? {
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    /// Writes straight to file descriptor 1 so the live line appears even though stdout is block-buffered.
    public static func writeToStandardOutput(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(1, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 { if errno == EINTR { continue } else { return } }
            offset += n
        }
    }
}
