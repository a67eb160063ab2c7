package io.falconq.jobs.intquant;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JobPhasesTest {
    @Test
    void nestedPhasesChargeTheInnermostAndAddUpToTheWallTime() throws InterruptedException {
        long t0 = System.nanoTime();
        JobPhases phases = new JobPhases();
        try (var forward = phases.enter(JobPhases.Phase.FORWARD)) {
            Thread.sleep(30);
            try (var stats = phases.enter(JobPhases.Phase.STATISTICS)) {
                Thread.sleep(60);
            }
            Thread.sleep(30);
        }
        double sum = 0;
        for (JobPhases.Phase p : JobPhases.Phase.values()) {
            sum += phases.seconds(p);
        }
        // read after the phases: the open 'other' phase runs until it is read
        double wall = (System.nanoTime() - t0) / 1e9;
        // sleeps last at least what they ask for; the scheduler may add to them, never subtract
        assertTrue(phases.seconds(JobPhases.Phase.FORWARD) >= 0.060, phases.summary());
        assertTrue(phases.seconds(JobPhases.Phase.STATISTICS) >= 0.060, phases.summary());
        assertEquals(0, phases.seconds(JobPhases.Phase.SOLVE));
        // every moment is charged once: the phases cover the time since construction, which is within [t0, now]
        assertTrue(sum <= wall + 1e-6 && sum >= 0.12, sum + " of " + wall);
        assertTrue(phases.summary().startsWith("forward "), phases.summary());
        JobPhases before = phases.snapshot();
        try (var solve = phases.enter(JobPhases.Phase.SOLVE)) {
            Thread.sleep(60);
        }
        // the split since the snapshot holds the solve, not the earlier forward and statistics
        assertTrue(phases.since(before).startsWith("solve "), phases.since(before));
    }
}
