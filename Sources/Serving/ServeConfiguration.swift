/// What `swiftclip serve` binds to and the limits it holds requests to.
public struct ServeConfiguration: Sendable {
    /// Bind address; localhost by default so a server is not exposed unless asked.
    public var host: String
    /// TCP port; 0 takes any free port (tests read the bound one back).
    public var port: Int
    /// Text query embeddings kept by the LRU cache; 0 disables it.
    public var cacheSize: Int
    /// Largest request body accepted; larger bodies get 413.
    public var maxBodyBytes: Int
    /// Largest `k` a search may ask for.
    public var maxK: Int
    /// Most queries the encoder embeds in one forward pass.
    public var maxBatch: Int
    /// Seconds the encoder waits after a query arrives for others to join its batch.
    public var batchWait: Double
    /// Seconds a connection may stay idle (nothing received, no request in progress) before the server closes it, so
    /// clients that stop sending cannot hold connections open.
    public var idleTimeout: Double

    public init(host: String = "127.0.0.1", port: Int = 8080, cacheSize: Int = 1024, maxBodyBytes: Int = 8 << 20, maxK: Int = 100,
                maxBatch: Int = 16, batchWait: Double = 0.002, idleTimeout: Double = 30) {
        self.host = host
        self.port = port
        self.cacheSize = cacheSize
        self.maxBodyBytes = maxBodyBytes
        self.maxK = maxK
        self.maxBatch = maxBatch
        self.batchWait = batchWait
        self.idleTimeout = idleTimeout
    }
}
