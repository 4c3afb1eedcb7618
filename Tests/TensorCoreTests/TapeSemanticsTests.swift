import XCTest
@testable import TensorCore

/// Value semantics, recording rules and the backward driver (seeds, accumulation, leafReady).
final class TapeSemanticsTests: XCTestCase {
    override func setUp() { Tape.shared.reset() }

    func testCopyOnWrite() {
        let a = Tensor(shape: [3], values: [1, 2, 3])
        var b = a
        b.withUnsafeMutableBufferPointer { $0[0] = 100 }
        XCTAssertEqual(a.values, [1, 2, 3])
        XCTAssertEqual(b.values, [100, 2, 3])

        // A view into shared storage (a parameter arena) copies on write and leaves the arena alone.
        let arena = TensorStorage(zeros: 10)
        var view = Tensor(shape: [2, 2], storage: arena, offset: 4)
        view.withUnsafeMutableBufferPointer { $0.update(repeating: 7) }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: arena.pointer, count: 10)), [Float](repeating: 0, count: 10))
        XCTAssertEqual(view.values, [7, 7, 7, 7])

        // A uniquely owned tensor is written in place.
        var owned = Tensor.zeros([4])
        let before = owned.storage.pointer
        owned.withUnsafeMutableBufferPointer { $0[1] = 1 }
        XCTAssertEqual(owned.storage.pointer, before)

        // Reshape shares storage but writing through the reshaped value does not change the original.
        var reshaped = a.reshaped([1, 3])
        reshaped.withUnsafeMutableBufferPointer { $0[2] = -1 }
        XCTAssertEqual(a.values, [1, 2, 3])
    }

    func testSavedInputsAreNotChangedByLaterWrites() {
        var x = Tensor(shape: [2], values: [2, 3])
        let tx = x.tracked()
        let y = (tx * tx).sum()
        x.withUnsafeMutableBufferPointer { $0[0] = 1000 }  // the tape's saved copy must stay [2, 3]
        XCTAssertEqual(y.backward()[tx]!.values, [4, 6])
    }

    func testNoGradientScopeRecordsNothing() {
        let x = Tensor(shape: [3], values: [1, 2, 3]).tracked()
        let nodesBefore = Tape.shared.nodes.count
        let y = withoutGradients { (x * x).exp().sum() }
        XCTAssertEqual(Tape.shared.nodes.count, nodesBefore)
        XCTAssertFalse(y.isTracked)
        XCTAssertTrue(Tape.shared.isRecording)
        let z = x * x
        XCTAssertTrue(z.isTracked)
        XCTAssertEqual(Tape.shared.nodes.count, nodesBefore + 1)
        // Untracked inputs record nothing either.
        _ = Tensor.ones([3]) * Tensor.ones([3])
        XCTAssertEqual(Tape.shared.nodes.count, nodesBefore + 1)
    }

    func testGradientAccumulatesWhenATensorIsUsedTwice() {
        let x = Tensor(shape: [3], values: [1, -2, 0.5]).tracked()
        // y = Σ (x·x + x + x·3)  ⇒  dy/dx = 2x + 4
        let y = (x * x + x + x * Tensor(scalar: 3)).sum()
        XCTAssertEqual(y.backward()[x]!.values, [6, 0, 5])
        let w = Tensor(shape: [2], values: [1, 2]).tracked()
        let loss = (w + w).sum()  // both inputs of one node are the same variable
        XCTAssertEqual(loss.backward()[w]!.values, [2, 2])
    }

    func testBackwardWithSeveralSeeds() {
        let x = GradientCheck.uniform([4, 3], seed: 81)
        let w = GradientCheck.uniform([5, 3], seed: 82)
        let s1 = GradientCheck.uniform([4, 5], seed: 83), s2 = GradientCheck.uniform([4, 5], seed: 84)
        func run(_ seeds: [Int]) -> [Float] {
            Tape.shared.reset()
            let tw = w.tracked()
            let a = Tensor.linear(x, weight: tw, bias: nil)
            let b = a.tanh()
            let pairs = [(a.variable, s1), (b.variable, s2)]
            return Tape.shared.backward(seeds: seeds.map { pairs[$0] }).self[tw]!.values
        }
        let both = run([0, 1]), first = run([0]), second = run([1])
        for i in both.indices { XCTAssertEqual(both[i], first[i] + second[i], accuracy: 1e-5) }
        XCTAssertNotEqual(first, second)
    }

    func testLeafReadyOrderAndFinality() {
        let a = GradientCheck.uniform([3], seed: 85).tracked()
        let b = GradientCheck.uniform([3], seed: 86).tracked()
        let unused = GradientCheck.uniform([3], seed: 87).tracked()
        // a is read by the first and the last node, b only by the middle one: b is final first.
        let h = a * Tensor(shape: [3], repeating: 2)
        let k = h * b
        let loss = (k * a).sum()
        var reported: [(Int, [Float])] = []
        let gradients = Tape.shared.backward(from: loss) { reported.append(($0, $1.values)) }
        XCTAssertEqual(reported.map(\.0), [b.variable, a.variable], "b is final before a; each reported once; unused leaf never")
        XCTAssertEqual(reported[0].1, gradients[b]!.values)
        XCTAssertEqual(reported[1].1, gradients[a]!.values)
        // d/da Σ 2a·b·a = 4ab: correct only if both uses of a were accumulated before the report.
        for i in 0..<3 { XCTAssertEqual(reported[1].1[i], 4 * a.pointer[i] * b.pointer[i], accuracy: 1e-5) }
        XCTAssertNil(gradients[unused])

        // Without keeping them, the same gradients reach leafReady and the result is empty.
        let a2 = Tensor(shape: [3], values: a.values).tracked(), b2 = Tensor(shape: [3], values: b.values).tracked()
        let loss2 = ((a2 * Tensor(shape: [3], repeating: 2) * b2) * a2).sum()
        var streamed: [Int: [Float]] = [:]
        let empty = Tape.shared.backward(seeds: [(loss2.variable, Tensor(scalar: 1))], keepingLeafGradients: false) { streamed[$0] = $1!.values }
        XCTAssertEqual(streamed[a2.variable], reported[1].1)
        XCTAssertEqual(streamed[b2.variable], reported[0].1)
        XCTAssertNil(empty[a2])
    }

    /// Leaves with a destination get their gradients added there (a lookup only into the rows it read); leafReady
    /// then receives nil for them, once, when they are final.
    func testGradientsAccumulateIntoDestinations() {
        let table = Tensor(shape: [5, 2], values: (0..<10).map { Float($0) / 10 }).tracked()
        let w = Tensor(shape: [2], values: [0.5, -1.5]).tracked()
        let rows = table.gatherRows([3, 1, 3])
        let loss = (rows * w).sum() + (w * w).sum()
        let expected = withoutGradients { () -> (table: [Float], w: [Float]) in
            var t = [Float](repeating: 0, count: 10)
            for r in [3, 1, 3] { t[2 * r] += 0.5; t[2 * r + 1] += -1.5 }
            let picked = [3, 1, 3].map { table.values[2 * $0] }, picked1 = [3, 1, 3].map { table.values[2 * $0 + 1] }
            return (t, [picked.reduce(0, +) + 1, picked1.reduce(0, +) - 3])
        }
        var tableGradient = [Float](repeating: 7, count: 10), wGradient = [Float](repeating: 1, count: 2)
        var reports: [Int: Int] = [:]
        tableGradient.withUnsafeMutableBufferPointer { t in
            wGradient.withUnsafeMutableBufferPointer { g in
                _ = Tape.shared.backward(seeds: [(loss.variable, Tensor(scalar: 1))], keepingLeafGradients: false,
                                         accumulatingInto: [table.variable: t.baseAddress!, w.variable: g.baseAddress!]) { v, gradient in
                    XCTAssertNil(gradient)
                    reports[v, default: 0] += 1
                }
            }
        }
        XCTAssertEqual(reports, [table.variable: 1, w.variable: 1])
        for i in 0..<10 { XCTAssertEqual(tableGradient[i], 7 + expected.table[i], accuracy: 1e-6, "table \(i)") }
        for i in 0..<2 { XCTAssertEqual(wGradient[i], 1 + expected.w[i], accuracy: 1e-6, "w \(i)") }
    }

    func testTensorsTrackedBeforeAResetAreUntracked() {
        let stale = Tensor(shape: [2], values: [1, 2]).tracked()
        Tape.shared.reset()
        XCTAssertFalse(stale.isTracked)
        let fresh = Tensor(shape: [2], values: [3, 4]).tracked()
        let y = (stale * fresh).sum()
        let gradients = y.backward()
        XCTAssertEqual(gradients[fresh]!.values, [1, 2])
        XCTAssertNil(gradients[stale])
        // After backward the tape is reset too.
        XCTAssertFalse(fresh.isTracked)
        XCTAssertEqual(Tape.shared.nodes.count, 0)
    }

    func testShapeMismatchMessagesNameBothShapes() {
        XCTAssertNil(Broadcast.mismatch([2, 3], [3]))
        XCTAssertNil(Broadcast.mismatch([2, 1, 4], [3, 1]))
        let message = Broadcast.mismatch([2, 3], [4], op: "add")
        XCTAssertEqual(message, "add: shapes [2, 3] and [4] do not broadcast")
    }

    func testLargeBuffersAreReusedAfterRelease() {
        TensorStorage.releaseCachedMemory()
        XCTAssertEqual(TensorStorage.cachedBytes, 0)
        var first: UnsafeMutablePointer<Float>?
        do {
            let big = Tensor(shape: [300_000], repeating: 1)
            first = big.storage.pointer
        }
        XCTAssertGreaterThanOrEqual(TensorStorage.cachedBytes, 1_200_000)
        let again = Tensor(shape: [290_000], repeating: 2)  // same size class
        XCTAssertEqual(again.storage.pointer, first)
        XCTAssertEqual(again.values.allSatisfy { $0 == 2 }, true)
        XCTAssertEqual(StoragePool.sizeClass(1000), nil, "small buffers are left to malloc")
        XCTAssertEqual(StoragePool.sizeClass(1 << 20), 1 << 20)
        XCTAssertEqual(StoragePool.sizeClass((1 << 20) + 1), (1 << 20) + (1 << 18))
        TensorStorage.releaseCachedMemory()
        XCTAssertEqual(TensorStorage.cachedBytes, 0)
    }

    func testSeededGeneratorIsReproducible() {
        var g1 = SplitMix64(seed: 42), g2 = SplitMix64(seed: 42)
        XCTAssertEqual((0..<5).map { _ in g1.next() }, (0..<5).map { _ in g2.next() })
        var g = SplitMix64(seed: 0)
        XCTAssertEqual(g.next(), 0xE220A8397B1DCDAF)  // SplitMix64's published first output for seed 0
        var n = SplitMix64(seed: 7)
        let normals = (0..<20_000).map { _ in Double(n.nextNormal()) }
        let mean = normals.reduce(0, +) / 20_000, variance = normals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 20_000
        XCTAssertEqual(mean, 0, accuracy: 0.03); XCTAssertEqual(variance, 1, accuracy: 0.05)
        XCTAssertNotEqual(SplitMix64(seed: 1, stream: 0).state, SplitMix64(seed: 1, stream: 1).state)
    }
}
