import ShearsTensor

/// Batch normalisation (`nn.BatchNorm1d` on [N, C], `nn.BatchNorm2d` on [N, C, H, W]): parameters `weight`
/// (γ = 1) and `bias` (β = 0); buffers `running_mean` (0), `running_var` (1) and `num_batches_tracked`.
/// Training or inference follows `Context.phase`.
public struct BatchNorm: Layer {
    public let weight: Variable
    public let bias: Variable
    public let runningMean: Variable
    public let runningVar: Variable
    /// Kept for state_dict compatibility with PyTorch (a float here; PyTorch stores an int64 scalar).
    public let numBatchesTracked: Variable
    public let momentum: Float
    public let eps: Float

    public init(_ features: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        weight = Variable(.ones([features]), requiresGrad: true)
        bias = Variable(.zeros([features]), requiresGrad: true)
        runningMean = Variable(.zeros([features]))
        runningVar = Variable(.ones([features]))
        numBatchesTracked = Variable(Tensor(shape: [], scalars: [0]))
        self.momentum = momentum
        self.eps = eps
    }

    public func callAsFunction(_ x: Variable) -> Variable { self(x, fusedReLU: false) }

    /// relu(self(x)) computed in one fused pass when `fusedReLU` is set.
    public func callAsFunction(_ x: Variable, fusedReLU: Bool) -> Variable {
        if Context.phase == .training { numBatchesTracked.value = Tensor(numBatchesTracked.value.scalar + 1) }
        return batchNorm(x, weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                         phase: Context.phase, momentum: Context.batchNormMomentum ?? momentum, eps: eps, fusedReLU: fusedReLU,
                         sync: Context.batchNormSynchronizer)
    }

    public var namedParameters: [(String, Variable)] { [("weight", weight), ("bias", bias)] }
    public var namedBuffers: [(String, Variable)] {
        [("running_mean", runningMean), ("running_var", runningVar), ("num_batches_tracked", numBatchesTracked)]
    }
}

extension Context {
    /// Set by data-parallel training with `--sync-batch-norm` (ShearsDistributed's `DataParallel`): every
    /// `BatchNorm` in the training phase then normalises with the statistics of the global batch. Nil (the
    /// default, as PyTorch DDP): each replica uses its own shard's statistics.
    nonisolated(unsafe) public static var batchNormSynchronizer: (any BatchNormSynchronizer)? = nil
}
