import Foundation
import XCTest
@testable import ShearsOptim

/// `ScheduleSpec` and `ScheduleRegistry`: the one description and the one factory of every LR schedule.
final class ScheduleSpecTests: XCTestCase {
    let context = ScheduleContext(baseLR: 0.1, iterationsPerEpoch: 10, totalIterations: 100, pruningRate: 0.2)

    func testTextFormParsesNamesNumbersAndSteps() throws {
        let s = try ScheduleSpec(parsing: "multistep:milestones=3ep;70,gamma=0.5")
        XCTAssertEqual(s.name, "multistep")
        XCTAssertEqual(s.parameters["milestones"], .steps([StepSpec(3, .epochs), StepSpec(70, .iterations)]))
        XCTAssertEqual(s.parameters["gamma"], .number(0.5))
        XCTAssertEqual(try ScheduleSpec(parsing: s.description), s, "the text form round-trips")
        XCTAssertEqual(try ScheduleSpec(parsing: "Cosine").name, "cosine")
        XCTAssertEqual(try ScheduleSpec(parsing: "scyc:warmup=20K").parameters["warmup"], .steps([StepSpec(20_000, .iterations)]))
        for bad in ["", ":gamma=1", "multistep:gamma", "multistep:milestones=3xy", "step:gamma=nan"] {
            XCTAssertThrowsError(try ScheduleSpec(parsing: bad), bad)
        }
    }

    func testJSONIsFlatAndRoundTrips() throws {
        let s = try ScheduleSpec(parsing: "warmup:peak=0.06,warmup=6,drops=6;12")
        let data = try JSONEncoder().encode(s)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        XCTAssertEqual(object["name"] as? String, "warmup")
        XCTAssertEqual(object["drops"] as? [String], ["6it", "12it"])
        XCTAssertEqual(object["peak"] as? Double, 0.06)
        XCTAssertEqual(try JSONDecoder().decode(ScheduleSpec.self, from: data), s)
    }

    /// The factory builds exactly the schedule one would build by hand (the rates are bit-identical), with epochs
    /// resolved through the context's epoch length.
    func testFactoryBuildsTheSameSchedulesAsTheirInitialisers() throws {
        func rates(_ s: any LRSchedule, cycle: Int = 0) -> [Float] { (0..<100).map { s.learningRate(iteration: $0, cycle: cycle) } }
        func make(_ text: String) throws -> any LRSchedule { try ScheduleRegistry.make(try ScheduleSpec(parsing: text), context) }
        XCTAssertEqual(rates(try make("constant")), rates(ConstantLR(0.1)))
        XCTAssertEqual(rates(try make("step:step_size=3ep,gamma=0.5")), rates(StepLR(base: 0.1, stepSize: 30, gamma: 0.5)))
        XCTAssertEqual(rates(try make("multistep:milestones=2ep;50")), rates(MultiStepLR(base: 0.1, milestones: [20, 50], gamma: 0.1)))
        XCTAssertEqual(rates(try make("cosine")), rates(CosineLR(base: 0.1, totalIterations: 100)))
        XCTAssertEqual(rates(try make("onecycle")), rates(OneCycleLR(maxLR: Double(Float(0.1)), totalIterations: 100)))
        XCTAssertEqual(rates(try make("linear-decay")), rates(LinearDecayLR(start: Double(Float(0.1)), length: 100)))
        XCTAssertEqual(rates(try make("cyclical:lower=0,upper=0.08,step_size=3")), rates(TriangularCyclicLR(lower: 0, upper: 0.08, stepSize: 3)))
        XCTAssertEqual(rates(try make("warmup:warmup=10,drops=40;60")), rates(WarmupLR(peak: Double(Float(0.1)), warmup: 10, drops: [40, 60])))
        let scyc = SCycSchedule(lMin: 0.02, lAmp: 0.04, q: 0, beta: 2, rate: 0.2, warmupIterations: 5, drops: [15])
        for m in 0..<4 {
            XCTAssertEqual(rates(try make("scyc:l_min=0.02,l_amp=0.04,q=0,beta=2,warmup=5,drops=15"), cycle: m), rates(scyc, cycle: m))
        }
        XCTAssertEqual(rates(try make("drop:drop_at=5ep,drop_factor=0.2")), rates(ConstantAndDropLR(base: Double(Float(0.1)), dropAt: 50, factor: 0.2)))
        XCTAssertEqual(rates(try make("cifar")), rates(CIFARDecayLR(base: Double(Float(0.1)), totalEpochs: 10, iterationsPerEpoch: 10)))
    }

    func testEveryRegisteredScheduleHasAUniqueNameAndBuildsWithItsDefaults() throws {
        XCTAssertEqual(Set(ScheduleRegistry.names).count, ScheduleRegistry.all.count)
        for name in ScheduleRegistry.names where !["step", "multistep", "drop"].contains(name) {
            XCTAssertNoThrow(try ScheduleRegistry.make(ScheduleSpec(name), context), name)
        }
    }

    func testBadSpecsAreRefusedNamingTheParameterAndFlag() {
        func message(_ text: String) -> String {
            do { _ = try ScheduleRegistry.make(try ScheduleSpec(parsing: text), context); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message("sawtooth").contains("unknown schedule 'sawtooth'"))
        XCTAssertTrue(message("multistep").contains("milestones"))
        XCTAssertTrue(message("step").contains("step_size"))
        XCTAssertTrue(message("constant:gamma=0.1").contains("no parameter gamma (--gamma)"))
        XCTAssertTrue(message("scyc:beta=0").contains("beta (--beta)"))
        XCTAssertTrue(message("scyc:q=1.5").contains("whole number"))
        XCTAssertTrue(message("step:step_size=0").contains("positive"))
        let huge = ScheduleContext(baseLR: 0.1, iterationsPerEpoch: Int.max / 4, totalIterations: 100)
        XCTAssertThrowsError(try ScheduleRegistry.make(try ScheduleSpec(parsing: "multistep:milestones=1000ep"), huge)) {
            XCTAssertTrue("\($0)".contains("too large"), "no overflow trap: \($0)")
        }
        XCTAssertTrue(message("drop:drop_at=0").contains("drop_at (--drop-at)"))
    }
}
