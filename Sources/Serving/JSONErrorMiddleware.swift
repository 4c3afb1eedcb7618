import Foundation
import Hummingbird

/// Outermost middleware: turns every refusal into `{"error": "..."}` with its 4xx status (so clients parse one error
/// shape, Hummingbird's own 404 and 413 included) and records each request's route, status and latency.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as ServingError {
            response = Self.errorResponse(status: error.status, message: error.message)
        } catch let error as any HTTPResponseError {
            let status = Int(error.status.code)
            response = Self.errorResponse(status: status, message: status == 413 ? "request body too large" : error.status.reasonPhrase)
        } catch {
            response = Self.errorResponse(status: 500, message: "internal error: \(error)")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        metrics.record(route: context.endpointPath ?? "unmatched", status: Int(response.status.code), seconds: seconds)
        return response
    }

    static func errorResponse(status: Int, message: String) -> Response {
        let line = (try? JSONEncoder().encode(["error": message.replacingOccurrences(of: "\n", with: " ")])) ?? Data("{\"error\":\"\"}".utf8)
        return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: line + Data("\n".utf8))))
    }
}
