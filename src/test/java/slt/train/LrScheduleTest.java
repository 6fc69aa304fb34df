package slt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import slt.config.Config;
import slt.config.ConfigLoader;

class LrScheduleTest {

    @Test
    void warmUpIsLinearThenCosineReachesTheFloorAtTheLastStep() {
        // the paper's recipe: 50 epochs x 227 steps, 1 warm-up epoch, 1e-4 -> 1e-5
        Config.Train t = ConfigLoader.defaults().train();
        LrSchedule s = new LrSchedule(t.lr(), t.minLr(), t.warmupSteps(), t.totalSteps());
        assertEquals(227, t.warmupSteps());
        assertEquals(11_350, t.totalSteps());
        assertEquals(1e-4 / 227, s.at(1), 1e-15, "first warm-up step");
        assertEquals(1e-4 * 100 / 227, s.at(100), 1e-15, "mid warm-up");
        assertEquals(1e-4, s.at(227), 1e-15, "end of warm-up = peak");
        long mid = 227 + (11_350 - 227) / 2;
        assertEquals(1e-5 + (1e-4 - 1e-5) * 0.5 * (1 + Math.cos(Math.PI * (mid - 227) / (11_350.0 - 227))), s.at(mid), 1e-15);
        assertEquals((1e-4 + 1e-5) / 2, s.at(mid), 1e-8, "half way through the cosine: the mean of peak and floor");
        long q = (11_350 - 227) / 4;
        double quarter = 1e-5 + (1e-4 - 1e-5) * 0.5 * (1 + Math.cos(Math.PI * q / (11_350.0 - 227)));
        assertEquals(quarter, s.at(227 + q), 1e-15, "a quarter of the cosine");
        assertEquals(1e-5 + (1e-4 - 1e-5) * 0.5 * (1 + Math.cos(Math.PI / 4)), s.at(227 + q), 1e-8, "~cos(pi/4)");
        assertEquals(1e-5, s.at(11_350), 1e-15, "the floor at the last step");
        assertEquals(1e-5, s.at(20_000), 1e-15, "stays at the floor");
        assertEquals((float) s.at(500), s.getNewValue(500), "DJL Tracker view");
    }

    @Test
    void noWarmUpStartsAtThePeak() {
        LrSchedule s = new LrSchedule(1e-3, 0, 0, 100);
        assertEquals(1e-3 * 0.5 * (1 + Math.cos(Math.PI / 100)), s.at(1), 1e-15);
        assertEquals(0, s.at(100), 1e-15);
        LrSchedule flat = new LrSchedule(1e-3, 1e-4, 10, 10);
        assertEquals(1e-3, flat.at(10), 1e-15);
    }
}
