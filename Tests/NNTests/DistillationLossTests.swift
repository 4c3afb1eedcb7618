import NN
import TensorCore
import XCTest

/// The distillation losses against their formulas written out in Double, their gradients against central differences
/// of those formulas, and their minimum where the student equals the teacher.
final class DistillationLossTests: XCTestCase {
    /// A global batch of `n` unit embeddings split over `world` ranks; this is rank `rank`'s view.
    struct Problem {
        let image: Tensor, text: Tensor, teacherImage: Tensor, teacherText: Tensor
        let n: Int, world: Int, rank: Int
        var local: Range<Int> { (rank * n / world)..<((rank + 1) * n / world) }

        init(n: Int, d: Int, teacherWidth: Int, world: Int, rank: Int, seed: UInt64) {
            var g = SplitMix64(seed: seed)
            image = Tensor.randomNormal([n, d], using: &g).l2Normalized()
            text = Tensor.randomNormal([n, d], using: &g).l2Normalized()
            teacherImage = Tensor.randomNormal([n, teacherWidth], using: &g).l2Normalized()
            teacherText = Tensor.randomNormal([n, teacherWidth], using: &g).l2Normalized()
            (self.n, self.world, self.rank) = (n, world, rank)
        }

        var teacher: (localImage: Tensor, localText: Tensor, gatheredImage: Tensor, gatheredText: Tensor) {
            (teacherImage.slice(axis: 0, local), teacherText.slice(axis: 0, local), teacherImage, teacherText)
        }

        /// The affinity loss of this rank in Double from the definition, for student embeddings `image`, `text`.
        func reference(image: [Float], text: [Float], d: Int, logScale: Double, teacherScale: Double) -> Double {
            let t = teacherImage.shape[1], ti = teacherImage.values, tt = teacherText.values
            func dot(_ a: [Float], _ i: Int, _ b: [Float], _ j: Int, _ w: Int) -> Double {
                (0..<w).reduce(0) { $0 + Double(a[i * w + $1]) * Double(b[j * w + $1]) }
            }
            func direction(_ rows: [Float], _ columns: [Float], _ teacherRows: [Float], _ teacherColumns: [Float]) -> Double {
                var total = 0.0
                for i in local {
                    let s = (0..<n).map { Foundation.exp(logScale) * dot(rows, i, columns, $0, d) }
                    let q = (0..<n).map { teacherScale * dot(teacherRows, i, teacherColumns, $0, t) }
                    let (sMax, qMax) = (s.max()!, q.max()!)
                    let sLog = Foundation.log(s.reduce(0) { $0 + Foundation.exp($1 - sMax) }) + sMax
                    let qSum = q.reduce(0) { $0 + Foundation.exp($1 - qMax) }
                    for j in 0..<n { total -= Foundation.exp(q[j] - qMax) / qSum * (s[j] - sLog) }
                }
                return total / Double(local.count)
            }
            return (direction(image, text, ti, tt) + direction(text, image, tt, ti)) / 2
        }

        /// The central difference of `reference` in entry `i` of the student's `tower` ("image" or "text") embeddings.
        func numericGradient(_ tower: String, _ i: Int, d: Int, logScale: Double, teacherScale: Double, step: Float = 1e-3) -> Double {
            var plus = (tower == "image" ? image : text).values, minus = plus
            plus[i] += step
            minus[i] -= step
            func at(_ values: [Float]) -> Double {
                tower == "image" ? reference(image: values, text: text.values, d: d, logScale: logScale, teacherScale: teacherScale)
                    : reference(image: image.values, text: values, d: d, logScale: logScale, teacherScale: teacherScale)
            }
            return (at(plus) - at(minus)) / Double(2 * step)
        }
    }

    func affinity(_ p: Problem, image: Tensor, text: Tensor, logScale: Tensor, teacherScale: Float) -> Tensor {
        DistillationLoss.affinity(localImage: image.slice(axis: 0, p.local), localText: text.slice(axis: 0, p.local), gatheredImage: image,
                                  gatheredText: text, logitScale: logScale, teacher: p.teacher, teacherScale: teacherScale)
    }

    func testAffinityIsTheCrossEntropyOfBothDirections() {
        for (world, rank) in [(1, 0), (3, 1)] {
            let p = Problem(n: 6, d: 4, teacherWidth: 5, world: world, rank: rank, seed: 11)
            let loss = affinity(p, image: p.image, text: p.text, logScale: Tensor(scalar: 1.2), teacherScale: 7).scalar
            let expected = p.reference(image: p.image.values, text: p.text.values, d: 4, logScale: 1.2, teacherScale: 7)
            XCTAssertEqual(Double(loss), expected, accuracy: 1e-5 * abs(expected), "world \(world) rank \(rank)")
        }
    }

    /// Gradients of every student embedding (each feeds both directions, as a local row and as a gathered column) and
    /// of the temperature, against central differences of the Double formula.
    func testAffinityGradientsMatchFiniteDifferences() {
        let p = Problem(n: 6, d: 4, teacherWidth: 5, world: 2, rank: 1, seed: 12)
        let logScale: Float = 1.5, teacherScale: Float = 9
        Tape.shared.reset()
        let (image, text, scale) = (p.image.tracked(), p.text.tracked(), Tensor(scalar: logScale).tracked())
        let gradients = Tape.shared.backward(from: affinity(p, image: image, text: text, logScale: scale, teacherScale: teacherScale))
        for (name, tensor, gradient) in [("image", p.image, gradients[image]!), ("text", p.text, gradients[text]!)] {
            for i in 0..<tensor.count {
                let numeric = p.numericGradient(name, i, d: 4, logScale: Double(logScale), teacherScale: Double(teacherScale))
                XCTAssertEqual(Double(gradient.values[i]), numeric, accuracy: 1e-3 + 1e-3 * abs(numeric), "\(name) \(i)")
            }
        }
        let h = 1e-4
        let numeric = (p.reference(image: p.image.values, text: p.text.values, d: 4, logScale: Double(logScale) + h, teacherScale: Double(teacherScale))
            - p.reference(image: p.image.values, text: p.text.values, d: 4, logScale: Double(logScale) - h, teacherScale: Double(teacherScale))) / (2 * h)
        XCTAssertEqual(Double(gradients[scale]!.scalar), numeric, accuracy: 1e-3 + 1e-3 * abs(numeric), "logit scale")
    }

    /// A student whose similarities equal the teacher's is at the minimum: nothing to learn.
    func testAffinityIsStationaryWhereTheStudentIsTheTeacher() {
        let p = Problem(n: 6, d: 4, teacherWidth: 4, world: 2, rank: 0, seed: 13)
        Tape.shared.reset()
        let (image, text) = (p.teacherImage.tracked(), p.teacherText.tracked())
        let gradients = Tape.shared.backward(from: affinity(p, image: image, text: text, logScale: Tensor(scalar: Foundation.log(9)), teacherScale: 9))
        XCTAssert((gradients[image]!.values + gradients[text]!.values).allSatisfy { abs($0) < 1e-5 })
    }

    func testFeatureIsTheMeanSquaredDifferenceOfBothTowers() {
        let p = Problem(n: 4, d: 3, teacherWidth: 3, world: 1, rank: 0, seed: 14)
        Tape.shared.reset()
        let (image, text) = (p.image.tracked(), p.text.tracked())
        let loss = DistillationLoss.feature(image: image, text: text, teacherImage: p.teacherImage, teacherText: p.teacherText)
        func meanSquare(_ a: Tensor, _ b: Tensor) -> Double { zip(a.values, b.values).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / 12 }
        XCTAssertEqual(Double(loss.scalar), (meanSquare(p.image, p.teacherImage) + meanSquare(p.text, p.teacherText)) / 2, accuracy: 1e-6)
        let gradients = Tape.shared.backward(from: loss)
        for (student, teacher, variable) in [(p.image, p.teacherImage, image), (p.text, p.teacherText, text)] {
            let expected = zip(student.values, teacher.values).map { ($0 - $1) / 12 }
            for (a, b) in zip(gradients[variable]!.values, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        }
        XCTAssertEqual(DistillationLoss.feature(image: p.image, text: p.text, teacherImage: p.image, teacherText: p.text).scalar, 0)
    }
}
