import COpenBLAS
import Foundation

/// Which OpenBLAS kernel family runs the matrix products, and a better one when OpenBLAS's own choice is poor.
///
/// OpenBLAS picks its kernels when the library loads, from the CPU model it recognises. A CPU newer than the installed
/// OpenBLAS (a virtual machine's generic "Xeon Processor" with AVX-512, say) is not recognised, and OpenBLAS falls back to
/// its oldest x86-64 kernels, several times slower than the AVX2 or AVX-512 ones the CPU can run. `OPENBLAS_CORETYPE`
/// chooses the family instead, but only before the library loads, so the executable sets it and restarts itself
/// (`restartWithBetterKernelsIfNeeded`). An explicit `OPENBLAS_CORETYPE` is always respected.
public enum BLASKernelChoice {
    /// The kernel family OpenBLAS chose for this process ("Prescott", "Haswell", "SkylakeX", ...).
    public static var current: String { String(cString: openblas_get_corename()) }

    /// Families that use at least AVX2 and FMA, the ones worth keeping.
    static let wideFamilies: Set<String> = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"]
    static let avx512Families: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

    /// The family to ask for, or nil when the current one already uses the CPU's widest vectors (or the user chose).
    /// `flags` are the CPU's feature flags as Linux lists them in /proc/cpuinfo.
    public static func better(than current: String, flags: Set<String>, userChoice: String?) -> String? {
        guard userChoice == nil else { return nil }
        let family = current.lowercased()
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(flags.contains) {
            return avx512Families.contains(family) ? nil : "SkylakeX"
        }
        if flags.contains("avx2") && flags.contains("fma") { return wideFamilies.contains(family) ? nil : "Haswell" }
        return nil
    }

    /// This CPU's feature flags (empty where /proc/cpuinfo does not exist).
    public static var cpuFlags: Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: ":").last.map { $0.split(separator: " ").map(String.init) } ?? [])
    }

    /// Restarts the process with `OPENBLAS_CORETYPE` set when OpenBLAS fell back to kernels narrower than the CPU's.
    /// Call first thing in `main`, before any other library starts threads (MPI in particular). Returns only when no
    /// restart is needed or the restart failed (then the process runs on with the kernels it has).
    public static func restartWithBetterKernelsIfNeeded() {
        let environment = ProcessInfo.processInfo.environment
        guard let family = better(than: current, flags: cpuFlags, userChoice: environment["OPENBLAS_CORETYPE"]) else { return }
        setenv("OPENBLAS_CORETYPE", family, 1)
        let arguments = CommandLine.arguments
        var cArguments = arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &cArguments)
        // execv returns only on failure: keep going with the slower kernels rather than stop.
        for pointer in cArguments { free(pointer) }
    }
}
