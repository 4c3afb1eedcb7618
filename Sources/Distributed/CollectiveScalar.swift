/// The element types the collectives move; each maps onto one MPI datatype.
public enum ScalarKind: Sendable {
    case float32, float64, int32, int64, uint64, uint16, byte

    /// Whether `ReduceOperation.average` is meaningful for this element type.
    var isFloatingPoint: Bool { self == .float32 || self == .float64 }
}

/// An element type that can travel through a `Communicator`.
public protocol CollectiveScalar {
    /// The wire type of this element.
    static var scalarKind: ScalarKind { get }
}

extension Float: CollectiveScalar { public static var scalarKind: ScalarKind { .float32 } }
extension Double: CollectiveScalar { public static var scalarKind: ScalarKind { .float64 } }
extension Int32: CollectiveScalar { public static var scalarKind: ScalarKind { .int32 } }
extension Int64: CollectiveScalar { public static var scalarKind: ScalarKind { .int64 } }
extension UInt64: CollectiveScalar { public static var scalarKind: ScalarKind { .uint64 } }
extension UInt16: CollectiveScalar { public static var scalarKind: ScalarKind { .uint16 } }
extension UInt8: CollectiveScalar { public static var scalarKind: ScalarKind { .byte } }

/// Divides `count` elements of `kind` at `base` by `divisor`; turns a sum into an average.
func divideInPlace(_ base: UnsafeMutableRawPointer, count: Int, kind: ScalarKind, by divisor: Int) {
    guard divisor != 1, count > 0 else { return }
    switch kind {
    case .float32:
        let p = base.assumingMemoryBound(to: Float.self)
        let scale = 1 / Float(divisor)
        for i in 0..<count { p[i] *= scale }
    case .float64:
        let p = base.assumingMemoryBound(to: Double.self)
        let scale = 1 / Double(divisor)
        for i in 0..<count { p[i] *= scale }
    default:
        preconditionFailure("average is only defined for floating-point elements")
    }
}
