import Launch
import XCTest

final class SlurmAllocationTests: XCTestCase {
    func testOutsideSlurmThereIsNoAllocation() {
        XCTAssertNil(SlurmAllocation(environment: ["PATH": "/usr/bin"]))
    }

    func testReadsTasksNodesAndCPUsPerTask() throws {
        let slurm = try XCTUnwrap(SlurmAllocation(environment: [
            "SLURM_JOB_ID": "42", "SLURM_NTASKS": "8", "SLURM_JOB_NUM_NODES": "2", "SLURM_JOB_NODELIST": "node[1-2]",
            "SLURM_CPUS_PER_TASK": "4", "SLURM_TASKS_PER_NODE": "4(x2)",
        ]))
        XCTAssertEqual(slurm.jobID, "42")
        XCTAssertEqual(slurm.tasks, 8)
        XCTAssertEqual(slurm.nodes, 2)
        XCTAssertEqual(slurm.nodeList, "node[1-2]")
        XCTAssertEqual(slurm.cpusPerTask, 4)
        XCTAssertEqual(slurm.tasksPerNode, [4, 4])
        XCTAssertEqual(slurm.totalTasks, 8)
    }

    func testExpandsCompressedTasksPerNode() {
        XCTAssertEqual(SlurmAllocation.expandTasksPerNode("2(x3),1"), [2, 2, 2, 1])
        XCTAssertEqual(SlurmAllocation.expandTasksPerNode("16"), [16])
        XCTAssertEqual(SlurmAllocation.expandTasksPerNode("1,3(x2)"), [1, 3, 3])
    }

    func testTotalTasksFallsBackToTheSumOverNodes() throws {
        let slurm = try XCTUnwrap(SlurmAllocation(environment: ["SLURM_JOB_ID": "7", "SLURM_TASKS_PER_NODE": "3(x2),1"]))
        XCTAssertNil(slurm.tasks)
        XCTAssertEqual(slurm.totalTasks, 7)
        XCTAssertEqual(slurm.nodes, 1)
    }
}
