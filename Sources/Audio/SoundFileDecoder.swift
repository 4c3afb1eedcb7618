import CSndfile
import Foundation

/// WAV, FLAC (and whatever else the system's libsndfile reads) decoded to float samples, from a file or from bytes
/// (a WebDataset member): the bytes are served to libsndfile through its virtual I/O callbacks, never a temporary file.
public enum SoundFileDecoder {
    /// Decodes the file at `path`; errors name the path.
    public static func decode(path: String) throws -> AudioClip {
        guard let data = FileManager.default.contents(atPath: path) else { throw AudioError("\(path): cannot read the file") }
        return try decode(data, name: path)
    }

    /// Decodes encoded audio bytes; `name` (a path or shard/key) is what errors name. A file that is not audio, a
    /// truncated one (fewer frames than its header declares) and a clip without frames are errors.
    public static func decode(_ data: Data, name: String) throws -> AudioClip { try decode([UInt8](data), name: name) }

    /// Decodes encoded audio bytes (a WebDataset member as the data loader holds it); see `decode(_:name:)`.
    public static func decode(_ bytes: [UInt8], name: String) throws -> AudioClip {
        if let (declared, present) = truncatedWAVData(bytes) {
            throw AudioError("\(name): truncated: the header declares \(declared) data bytes, \(present) are present")
        }
        let source = MemorySource(bytes: bytes)
        var io = SF_VIRTUAL_IO(get_filelen: memoryLength, seek: memorySeek, read: memoryRead, write: memoryWrite, tell: memoryTell)
        var info = SF_INFO()
        let handle = withExtendedLifetime(source) {
            sf_open_virtual(&io, Int32(SFM_READ), &info, Unmanaged.passUnretained(source).toOpaque())
        }
        guard let file = handle else {
            throw AudioError("\(name): not a readable audio file (\(String(cString: sf_strerror(nil))))")
        }
        defer { sf_close(file) }
        let channels = Int(info.channels), declared = Int(info.frames)
        guard channels > 0, info.samplerate > 0 else { throw AudioError("\(name): no channels or no sample rate in the header") }
        guard declared > 0 else { throw AudioError("\(name): zero-length clip") }
        var samples = [Float](repeating: 0, count: declared * channels)
        let read = withExtendedLifetime(source) {
            samples.withUnsafeMutableBufferPointer { Int(sf_readf_float(file, $0.baseAddress, sf_count_t(declared))) }
        }
        guard read == declared else {
            throw AudioError("\(name): truncated: the header declares \(declared) frames, \(read) could be read")
        }
        return AudioClip(sampleRate: Int(info.samplerate), channels: channels, samples: samples)
    }
}

/// The declared and present sizes of a RIFF/WAVE file's `data` chunk when the file ends inside it. libsndfile would
/// quietly decode the part that is there; a WAV cut short in a shard is damaged and must be counted as such. Sizes of 0
/// and 0xFFFFFFFF mean "unknown" (streamed writers) and are accepted.
func truncatedWAVData(_ bytes: [UInt8]) -> (declared: Int, present: Int)? {
    func word(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
    guard bytes.count >= 12, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WAVE".utf8) else { return nil }
    var offset = 12
    while offset + 8 <= bytes.count {
        let size = word(offset + 4), body = offset + 8
        if bytes[offset..<(offset + 4)].elementsEqual("data".utf8) {
            let present = bytes.count - body
            return size != 0 && size != 0xFFFF_FFFF && size > present ? (size, present) : nil
        }
        offset = body + size + (size & 1)
    }
    return nil
}

/// The bytes and read position behind one virtual-I/O handle.
private final class MemorySource {
    let bytes: [UInt8]
    var position = 0
    init(bytes: [UInt8]) { self.bytes = bytes }
}

private func source(_ user: UnsafeMutableRawPointer?) -> MemorySource {
    Unmanaged<MemorySource>.fromOpaque(user!).takeUnretainedValue()
}

private let memoryLength: sf_vio_get_filelen = { user in sf_count_t(source(user).bytes.count) }

private let memorySeek: sf_vio_seek = { offset, whence, user in
    let memory = source(user)
    let base: Int
    switch whence {
    case SEEK_CUR: base = memory.position
    case SEEK_END: base = memory.bytes.count
    default: base = 0
    }
    memory.position = min(max(base + Int(offset), 0), memory.bytes.count)
    return sf_count_t(memory.position)
}

private let memoryRead: sf_vio_read = { destination, count, user in
    let memory = source(user)
    let length = min(Int(count), memory.bytes.count - memory.position)
    guard length > 0, let destination else { return 0 }
    memory.bytes.withUnsafeBytes { bytes in
        destination.copyMemory(from: bytes.baseAddress! + memory.position, byteCount: length)
    }
    memory.position += length
    return sf_count_t(length)
}

private let memoryWrite: sf_vio_write = { _, _, _ in 0 }

private let memoryTell: sf_vio_tell = { user in sf_count_t(source(user).position) }
