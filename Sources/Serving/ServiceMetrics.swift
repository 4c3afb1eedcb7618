import Foundation

/// Counters for `GET /metrics` in Prometheus's text format: requests by route and status, a latency histogram by
/// route, text-cache hits and misses, and the encoder's batches.
public final class ServiceMetrics: @unchecked Sendable {
    /// Upper bounds (seconds) of the latency histogram's buckets: from a cached lookup to a slow image encoding.
    static let bucketBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct Histogram {
        var buckets = [Int](repeating: 0, count: ServiceMetrics.bucketBounds.count)
        var count = 0
        var sum = 0.0
    }

    private struct RouteStatus: Hashable {
        var route: String
        var status: Int
    }

    private let lock = NSLock()
    private var requests: [RouteStatus: Int] = [:]
    private var latencies: [String: Histogram] = [:]
    private var cacheHits = 0
    private var cacheMisses = 0
    private var encoderBatches = 0
    private var encoderQueries = 0

    public init() {}

    public func record(route: String, status: Int, seconds: Double) {
        lock.withLock {
            requests[RouteStatus(route: route, status: status), default: 0] += 1
            var histogram = latencies[route] ?? Histogram()
            for (bucket, bound) in Self.bucketBounds.enumerated() where seconds <= bound { histogram.buckets[bucket] += 1 }
            histogram.count += 1
            histogram.sum += seconds
            latencies[route] = histogram
        }
    }

    public func recordCache(hit: Bool) {
        lock.withLock { if hit { cacheHits += 1 } else { cacheMisses += 1 } }
    }

    public var cacheCounts: (hits: Int, misses: Int) { lock.withLock { (cacheHits, cacheMisses) } }

    /// One forward pass of the query encoder over `queries` texts and images.
    public func recordEncoderBatch(queries: Int) {
        lock.withLock {
            encoderBatches += 1
            encoderQueries += queries
        }
    }

    public var encoderCounts: (batches: Int, queries: Int) { lock.withLock { (encoderBatches, encoderQueries) } }

    /// The exposition text (version 0.0.4), series sorted so scrapes diff cleanly.
    public func prometheusText() -> String {
        lock.withLock {
            var lines: [String] = []
            lines.append("# HELP swiftclip_http_requests_total HTTP requests by route and status.")
            lines.append("# TYPE swiftclip_http_requests_total counter")
            for (key, count) in requests.sorted(by: { ($0.key.route, $0.key.status) < ($1.key.route, $1.key.status) }) {
                lines.append("swiftclip_http_requests_total{route=\"\(Self.escaped(key.route))\",status=\"\(key.status)\"} \(count)")
            }
            lines.append("# HELP swiftclip_http_request_duration_seconds Time to answer a request, by route.")
            lines.append("# TYPE swiftclip_http_request_duration_seconds histogram")
            for (route, histogram) in latencies.sorted(by: { $0.key < $1.key }) {
                let label = "route=\"\(Self.escaped(route))\""
                for (bucket, bound) in Self.bucketBounds.enumerated() {
                    lines.append("swiftclip_http_request_duration_seconds_bucket{\(label),le=\"\(bound)\"} \(histogram.buckets[bucket])")
                }
                lines.append("swiftclip_http_request_duration_seconds_bucket{\(label),le=\"+Inf\"} \(histogram.count)")
                lines.append("swiftclip_http_request_duration_seconds_sum{\(label)} \(histogram.sum)")
                lines.append("swiftclip_http_request_duration_seconds_count{\(label)} \(histogram.count)")
            }
            lines.append("# HELP swiftclip_text_cache_hits_total Text queries answered from the embedding cache.")
            lines.append("# TYPE swiftclip_text_cache_hits_total counter")
            lines.append("swiftclip_text_cache_hits_total \(cacheHits)")
            lines.append("# HELP swiftclip_text_cache_misses_total Text queries the model had to embed.")
            lines.append("# TYPE swiftclip_text_cache_misses_total counter")
            lines.append("swiftclip_text_cache_misses_total \(cacheMisses)")
            lines.append("# HELP swiftclip_encoder_batches_total Batches the query encoder ran (queries arriving together share one).")
            lines.append("# TYPE swiftclip_encoder_batches_total counter")
            lines.append("swiftclip_encoder_batches_total \(encoderBatches)")
            lines.append("# HELP swiftclip_encoder_queries_total Texts and images the query encoder embedded.")
            lines.append("# TYPE swiftclip_encoder_queries_total counter")
            lines.append("swiftclip_encoder_queries_total \(encoderQueries)")
            return lines.joined(separator: "\n") + "\n"
        }
    }

    static func escaped(_ label: String) -> String {
        label.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
