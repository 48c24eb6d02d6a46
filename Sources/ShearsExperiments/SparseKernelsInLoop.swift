import ShearsData
import ShearsNN
import ShearsPrune
import ShearsTensor

/// `--sparse-kernels auto|on|off` for every training of this process (docs/sparse-training.md), set once by the
/// CLI: at the start of each training whose optimizer enforces a mask (a cycle of iterative pruning or the oracle, an
/// APP megabatch, a one-shot fine-tuning, SET / RigL / gmp), `TrainLoop.run` attaches the sparse training forms of
/// that mask (`SparseTraining.prepare`: with `auto`, per layer where one forward + backward measured faster) and drops
/// them when the training ends.
public enum SparseKernelsRun {
    nonisolated(unsafe) public static var mode: SparseKernelMode = .off
}

/// The layers a training runs on the sparse kernels and the mask they were chosen for, kept in the checkpoint: a
/// resumed training re-attaches the same layers instead of timing again (`auto` decides from timings, which a second
/// run could decide differently, and exact resume needs the same kernels — their sums run in another order).
public struct SparseKernelChoice: Equatable, Sendable {
    public var maskDigest: String
    public var layers: [String]
}

extension TrainLoop {
    /// Attaches the sparse training forms for the mask `state`'s optimizer enforces, at this rank's batch size, or
    /// re-attaches the layers the checkpoint recorded for the same mask.
    func attachSparseKernels(_ state: inout LoopState) {
        guard SparseKernelsRun.mode != .off, let mask = (state.optimizer as? any MaskUpdatable)?.mask, mask.density < 1 else { return }
        let digest = mask.digest
        if let saved = state.position.sparseKernels, saved.maskDigest == digest {
            SparseTraining.attach(model: model, masks: mask.tensors, chosen: Set(saved.layers))
            return
        }
        let ranks = dataParallel?.size ?? 1
        let decisions = SparseTraining.prepare(model: model, masks: mask.tensors, batchSize: max(1, loader.batchSize / ranks),
                                               inputShape: loader.dataset.imageShape, mode: SparseKernelsRun.mode)
        state.position.sparseKernels = SparseKernelChoice(maskDigest: digest, layers: decisions.filter(\.chosen).map(\.name))
    }
}

/// After a mask change inside a training (SET / RigL drop-and-grow, a gmp step): the layers on the sparse kernels keep
/// them with the new structure — grown connections must be in it, or the forward would skip them.
func refreshSparseKernels(_ model: any Layer, mask: Mask, _ state: inout LoopState) {
    let chosen = Set(model.namedParameters.filter { $0.1.trainingForm != nil }.map(\.0))
    guard !chosen.isEmpty else { return }
    SparseTraining.attach(model: model, masks: mask.tensors, chosen: chosen)
    state.position.sparseKernels = SparseKernelChoice(maskDigest: mask.digest, layers: chosen.sorted())
}

extension Mask {
    /// FNV-1a over the names and the 0/1 pattern: which mask a recorded choice of sparse layers belongs to.
    var digest: String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for name in names.sorted() {
            for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            guard let t = self[name] else { continue }
            t.contiguous().withUnsafeBufferPointer { buf in
                for v in buf { h = (h ^ (v != 0 ? 1 : 0)) &* 0x100_0000_01b3 }
            }
        }
        return String(h, radix: 16)
    }
}
