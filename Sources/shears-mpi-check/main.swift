import Foundation
import ShearsDistributed

// shears-mpi-check: data-parallel training checked against one process (scripts/mpi_check.sh runs it).
//
//   shears-mpi-check reference DIR            one process, no MPI: trains every scenario with the whole global
//                                             batch and writes its weights after every step under DIR
//   mpirun -np N shears-mpi-check compare DIR N ranks train the same scenarios on shards of each global batch;
//                                             after every step rank 0 compares with DIR, and every rank's
//                                             weights must equal rank 0's bit for bit
//   [mpirun -np N] shears-mpi-check bench --model lenet|resnet20 --batch B --steps S --threads T
//                                             allreduce time and overlap per step (BENCHMARKS.md)
//   [mpirun -np N] shears-mpi-check allreduce-sweep   allreduce time against message size (the α–β model)
//
// Exit status 0 and a final "PASS" line when every check held; 1 and "FAIL: …" lines otherwise.

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    let comm = try Communicator.world()
    switch arguments.first {
    case "reference" where arguments.count == 2:
        exit(try runReference(directory: arguments[1], comm: comm))
    case "compare" where arguments.count == 2:
        exit(try runCompare(directory: arguments[1], comm: comm))
    case "bench":
        exit(try runBench(Array(arguments.dropFirst()), comm: comm))
    case "allreduce-sweep":
        exit(try runAllreduceSweep(comm: comm))
    default:
        FileHandle.standardError.write(Data("usage: shears-mpi-check reference DIR | compare DIR | bench … | allreduce-sweep\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("shears-mpi-check: \(error)\n".utf8))
    exit(1)
}
