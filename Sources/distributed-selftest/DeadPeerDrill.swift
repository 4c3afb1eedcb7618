import Distributed
import Foundation

/// Makes the last rank fail after a first successful collective, then keeps the others in
/// collectives; a correct setup ends the whole job with a non-zero status instead of hanging.
struct DeadPeerDrill {
    enum Failure: String {
        /// The rank exits with status 1.
        case exit
        /// The rank SIGKILLs itself.
        case kill
        /// The rank stays alive but never joins another collective: only our timeout can end this.
        case stall
        /// As `stall`, while the others wait on non-blocking all-reduces queued on the MPI thread.
        case stallNonBlocking = "stall-nonblocking"
    }

    let communicator: Communicator
    let failure: Failure

    func run() throws {
        var values = [Float](repeating: Float(communicator.rank), count: 1 << 16)
        try communicator.allReduce(&values, .sum)
        if communicator.rank == communicator.size - 1 && communicator.size > 1 {
            fputs("rank \(communicator.rank): failing on purpose (\(failure.rawValue))\n", stderr)
            switch failure {
            case .exit: exit(1)
            case .kill: kill(getpid(), SIGKILL)
            case .stall, .stallNonBlocking: sleep(600)
            }
        }
        for _ in 0..<1000 {
            if failure == .stallNonBlocking {
                try values.withUnsafeMutableBufferPointer { try communicator.startAllReduce($0, .sum) }.wait()
            } else {
                try communicator.allReduce(&values, .sum)
            }
        }
        fputs("rank \(communicator.rank): finished every collective although a peer failed\n", stderr)
    }
}
