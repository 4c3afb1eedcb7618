/// Sizes of the square k×k patches of NCHW input taken every `stride` pixels (a convolution's receptive fields).
public struct PatchGeometry: Equatable {
    public let batch, inChannels, height, width, kernel, stride, padding: Int
    public var outHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    public var outWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
    /// Length of one unfolded patch: C · k · k.
    var patchLength: Int { inChannels * kernel * kernel }
    var positions: Int { outHeight * outWidth }

    /// Unfolds image `b` into rows of patches: columns [positions, C·k·k] (zeros where padding).
    func im2col(_ input: UnsafePointer<Float>, _ b: Int, _ columns: UnsafeMutablePointer<Float>) {
        let image = input + b * inChannels * height * width
        for oy in 0..<outHeight {
            for ox in 0..<outWidth {
                var dst = columns + (oy * outWidth + ox) * patchLength
                let x0 = ox * stride - padding
                let rowInside = x0 >= 0 && x0 + kernel <= width
                for c in 0..<inChannels {
                    for ky in 0..<kernel {
                        let y = oy * stride + ky - padding
                        if y < 0 || y >= height {
                            dst.update(repeating: 0, count: kernel)
                        } else if rowInside {
                            // The common case (always, without padding): one contiguous run of the image row.
                            dst.update(from: image + (c * height + y) * width + x0, count: kernel)
                        } else {
                            let row = image + (c * height + y) * width
                            for kx in 0..<kernel {
                                let x = x0 + kx
                                dst[kx] = x >= 0 && x < width ? row[x] : 0
                            }
                        }
                        dst += kernel
                    }
                }
            }
        }
    }

    /// Adds unfolded patch gradients back into image `b` of `inputGradient` (the adjoint of im2col).
    func col2imAdd(_ columns: UnsafePointer<Float>, _ b: Int, _ inputGradient: UnsafeMutablePointer<Float>) {
        let image = inputGradient + b * inChannels * height * width
        for oy in 0..<outHeight {
            for ox in 0..<outWidth {
                var src = columns + (oy * outWidth + ox) * patchLength
                let x0 = ox * stride - padding
                for c in 0..<inChannels {
                    for ky in 0..<kernel {
                        let y = oy * stride + ky - padding
                        if y >= 0 && y < height {
                            let row = image + (c * height + y) * width
                            let lo = Swift.max(0, -x0), hi = Swift.min(kernel, width - x0)
                            if lo < hi { for kx in lo..<hi { row[x0 + kx] += src[kx] } }
                        }
                        src += kernel
                    }
                }
            }
        }
    }
}

extension Tensor {
    /// The k×k patches of input [B, C, H, W] every `stride` pixels (zeros where `padding`), unfolded (im2col):
    /// [B, H'·W', C·k·k], each patch in (channel, row, column) order. A convolution with weight [O, C, k, k] is then a
    /// linear layer with the weight viewed as [O, C·k·k]: one product over every image's patches, already in token
    /// layout, and a subset of the patches (patch dropout) is a row gather before it.
    public static func unfoldPatches(_ input: Tensor, kernel: Int, stride: Int = 1, padding: Int = 0) -> Tensor {
        precondition(input.rank == 4 && kernel > 0, "unfoldPatches: input shape \(input.shape) with kernel \(kernel)")
        precondition(stride > 0 && padding >= 0, "unfoldPatches: stride \(stride) and padding \(padding) must be positive and non-negative")
        let g = PatchGeometry(batch: input.shape[0], inChannels: input.shape[1], height: input.shape[2], width: input.shape[3],
                              kernel: kernel, stride: stride, padding: padding)
        precondition(g.outHeight > 0 && g.outWidth > 0, "unfoldPatches: kernel \(kernel) larger than padded input \(input.shape)")
        let out = Tensor(uninitializedShape: [g.batch, g.positions, g.patchLength])
        for b in 0..<g.batch { g.im2col(input.pointer, b, out.storage.pointer + b * g.positions * g.patchLength) }
        return Tape.shared.record(.unfoldPatches(geometry: g), inputs: [input], output: out)
    }

    /// Average pooling over k×k windows with the given stride, no padding: [B, C, H, W] -> [B, C, H', W'].
    public func avgPool2d(kernel: Int, stride: Int) -> Tensor {
        precondition(rank == 4 && shape[2] >= kernel && shape[3] >= kernel, "avgPool2d: shape \(shape) with kernel \(kernel)")
        let (h, w) = (shape[2], shape[3])
        let oh = (h - kernel) / stride + 1, ow = (w - kernel) / stride + 1
        let planes = shape[0] * shape[1]
        let out = Tensor(uninitializedShape: [shape[0], shape[1], oh, ow])
        let inv = 1 / Float(kernel * kernel)
        for p in 0..<planes {
            let src = pointer + p * h * w, dst = out.storage.pointer + p * oh * ow
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var s: Float = 0
                    for ky in 0..<kernel { for kx in 0..<kernel { s += src[(oy * stride + ky) * w + ox * stride + kx] } }
                    dst[oy * ow + ox] = s * inv
                }
            }
        }
        return Tape.shared.record(.avgPool2d(inputShape: shape, kernel: kernel, stride: stride), inputs: [self], output: out)
    }
}

enum ConvolutionGradient {
    /// The adjoint of `unfoldPatches`: every patch's gradient added back where its pixels came from.
    static func unfoldPatches(geometry g: PatchGeometry, outputGradient dy: Tensor) -> Tensor {
        let dInput = Tensor(shape: [g.batch, g.inChannels, g.height, g.width], repeating: 0)
        for b in 0..<g.batch { g.col2imAdd(dy.pointer + b * g.positions * g.patchLength, b, dInput.storage.pointer) }
        return dInput
    }

    static func avgPool2d(inputShape: [Int], kernel: Int, stride: Int, outputGradient dy: Tensor) -> Tensor {
        let (h, w) = (inputShape[2], inputShape[3])
        let (oh, ow) = (dy.shape[2], dy.shape[3])
        let dx = Tensor(shape: inputShape, repeating: 0)
        let inv = 1 / Float(kernel * kernel)
        for p in 0..<(inputShape[0] * inputShape[1]) {
            let src = dy.pointer + p * oh * ow, dst = dx.storage.pointer + p * h * w
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let v = src[oy * ow + ox] * inv
                    for ky in 0..<kernel { for kx in 0..<kernel { dst[(oy * stride + ky) * w + ox * stride + kx] += v } }
                }
            }
        }
        return dx
    }
}
