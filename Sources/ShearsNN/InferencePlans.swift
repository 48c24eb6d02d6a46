import Foundation
import ShearsTensor

extension InferencePlan {
    /// `model`'s inference forward (running batch-norm statistics, no dropout) on inputs `[batchSize] + inputShape`.
    /// Sparse forms `SparseInference.prepare` attached stay in use. Throws for a model with an op the plan
    /// cannot run, naming the op.
    public convenience init(_ model: any Layer, batchSize: Int, inputShape: [Int], kernels: KernelChoice = .measured) throws {
        try self.init(inputShape: [batchSize] + inputShape, parameters: model.namedParameters.map(\.1), kernels: kernels) { x in
            Context.with(.inference) { model(x) }
        }
    }
}

/// The inference plans of the models evaluated lately, one per model and input shape, so that evaluations
/// during training (every few hundred steps, on the same model) compile once and only reload weights
/// afterwards. A model whose forward the plan cannot run is remembered as such and runs itself.
public enum InferencePlans {
    private struct Entry {
        let parameters: [Variable]
        let inputShape: [Int]
        /// Which parameters had a sparse inference form when the plan was built: another choice, another plan.
        let sparse: [Bool]
        let plan: InferencePlan?
    }
    /// Few entries: a plan keeps its activation buffers (at batch 1000, tens of MB for a CIFAR ResNet).
    nonisolated(unsafe) private static var entries: [Entry] = []
    private static let capacity = 4
    /// One caller at a time: a plan's buffers are shared by its calls.
    private static let lock = NSLock()

    /// The plan for `model` on inputs shaped `inputShape` (batch included), or nil when it has an op the plan
    /// does not run. Models are told apart by their parameters' identity.
    public static func plan(for model: any Layer, inputShape: [Int]) -> InferencePlan? {
        let parameters = model.namedParameters.map(\.1), sparse = parameters.map { $0.inferenceForm != nil }
        if let i = entries.firstIndex(where: { $0.inputShape == inputShape && $0.sparse == sparse
                                                && $0.parameters.count == parameters.count
                                                && zip($0.parameters, parameters).allSatisfy { $0 === $1 } }) {
            let hit = entries.remove(at: i)
            entries.append(hit)
            return hit.plan
        }
        let plan = try? InferencePlan(model, batchSize: inputShape[0], inputShape: Array(inputShape.dropFirst()))
        entries.removeAll { $0.parameters.count == parameters.count && zip($0.parameters, parameters).allSatisfy { $0 === $1 } }
        entries.append(Entry(parameters: parameters, inputShape: inputShape, sparse: sparse, plan: plan))
        if entries.count > capacity { entries.removeFirst() }
        return plan
    }

    /// Forgets every plan (and frees its buffers).
    public static func removeAll() { lock.withLock { entries.removeAll() } }

    /// `model`'s output for `x` in inference: through its plan, or the model itself where it has none.
    public static func infer(_ model: any Layer, _ x: Tensor) -> Tensor {
        lock.lock(); defer { lock.unlock() }
        if let plan = plan(for: model, inputShape: x.shape) { return plan(x) }
        return Context.with(.inference) { GradMode.withoutGrad { model(Variable(x)).value } }
    }
}
