import ShearsData
import ShearsDistributed
import ShearsTensor

extension TrainLoop {
    /// `standardStep`, data-parallel (`docs/distributed.md`): every rank draws the same global batch, trains on its
    /// shard, starts each gradient bucket's allreduce during backward and steps with the averaged gradients. The
    /// loss it reports and judges is the global batch's (`globalMean`), so a diverged loss stops every rank alike.
    /// With one process it computes exactly what `standardStep` computes. Plug it in as `TrainLoop(…, step:
    /// TrainLoop.dataParallelStep(dp))`; a global batch too small for the ranks stops every rank with the reason.
    public static func dataParallelStep(_ dp: DataParallel) -> Step {
        { loop, batch, iteration, optimizer in
            if let problem = shardingProblem(globalBatch: batch.labels.count, ranks: dp.size) {
                throw DistributedError("iteration \(iteration): \(problem)")
            }
            optimizer.learningRate = loop.learningRate(iteration)
            let shard = try dp.shard(batch)
            loop.model.zeroGrad()
            let logits = loop.model(Variable(shard.batch.images))
            let loss = softmaxCrossEntropy(logits: logits, labels: shard.batch.labels)
            let lossValue = Float(try dp.globalMean(Double(loss.value.scalar)))
            guard lossValue.isFinite else { throw LossDiverged(loss: lossValue, description: loop.divergence(lossValue, iteration)) }
            dp.beginBackward()
            loss.backward()
            try dp.averageGradients()
            optimizer.step(loop.parameters)
            return StepOutcome(loss: lossValue, logits: logits.value, batch: shard.batch)
        }
    }
}
