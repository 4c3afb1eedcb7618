import TensorCore
import XCTest

final class ShuffleFirstTests: XCTestCase {
    /// The first `count` places become a uniform random subset; the array stays a permutation of its elements.
    func testFirstPlacesAreAUniformSubsetAndTheArrayAPermutation() {
        var hits = [Int](repeating: 0, count: 10)
        for seed in 0..<3000 {
            var generator = SplitMix64(seed: UInt64(seed))
            var array = Array(0..<10)
            generator.shuffleFirst(4, of: &array)
            XCTAssertEqual(array.sorted(), Array(0..<10))
            for i in array[..<4] { hits[i] += 1 }
        }
        for count in hits { XCTAssertEqual(Double(count), 1200, accuracy: 150) }
        var generator = SplitMix64(seed: 1)
        var untouched = [3, 1, 2]
        generator.shuffleFirst(0, of: &untouched)
        XCTAssertEqual(untouched, [3, 1, 2])
    }
}
