import ArgumentParser
import ShearsData
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune

// The library's enums as command-line values (their raw values are what users type): one list, not one per command.
extension Allocation: ExpressibleByArgument {}
extension AnytimeLRPolicy: ExpressibleByArgument {}
extension AnytimeMaskUpdate: ExpressibleByArgument {}
extension ChannelAllocation: ExpressibleByArgument {}
extension DatasetKind: ExpressibleByArgument {}
extension DensityDistribution: ExpressibleByArgument {}
extension DropSchedule: ExpressibleByArgument {}
extension DynamicSparseMethod: ExpressibleByArgument {}
extension GroupAggregation: ExpressibleByArgument {}
extension GroupNormalization: ExpressibleByArgument {}
extension ImageLayout: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension PruneSampleDraw: ExpressibleByArgument {}
extension PruneSampleSize: ExpressibleByArgument {}
extension ScoringBatchNorm: ExpressibleByArgument {}
extension SparseInitialisation: ExpressibleByArgument {}
extension SparseKernelMode: ExpressibleByArgument {}
extension SplitKind: ExpressibleByArgument {}
extension StateDictFormat: ExpressibleByArgument {}
extension StructuredRetrain: ExpressibleByArgument {}
extension StructuredSchedule: ExpressibleByArgument {}
