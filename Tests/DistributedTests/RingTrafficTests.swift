import Distributed
import XCTest

final class RingTrafficTests: XCTestCase {
    func testAllReduceSendsTwiceTheWorldShareOfTheBuffer() {
        // A ring all-reduce is a reduce-scatter and an all-gather: W − 1 steps of 1/W of the buffer each.
        XCTAssertEqual(RingTraffic.allReduceBytesSent(bytes: 4e8, ranks: 2), 4e8, accuracy: 1e-3)
        XCTAssertEqual(RingTraffic.allReduceBytesSent(bytes: 4e8, ranks: 4), 6e8, accuracy: 1e-3)
        XCTAssertEqual(RingTraffic.allReduceBytesSent(bytes: 4e8, ranks: 1), 0)
    }
}
