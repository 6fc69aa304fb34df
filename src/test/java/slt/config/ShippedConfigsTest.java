package slt.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every config in configs/ loads and validates; the paper configs carry the paper's recipe. */
class ShippedConfigsTest {

    @Test
    void everyShippedConfigIsValidAndThePaperOnesFollowTheRecipe() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(Path.of("configs"))) {
            files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        int paper = 0;
        for (Path f : files) {
            Config c = ConfigLoader.load(f, null);
            String name = f.getFileName().toString();
            if (!name.startsWith("gpt2-")) {
                continue;
            }
            paper++;
            Config.Train t = c.train();
            assertEquals(50, t.epochs(), name);
            assertEquals(227, t.stepsPerEpoch(), name);
            assertEquals(512, t.batchSize(), name);
            assertEquals(1024, c.data().seqLen(), name);
            assertEquals(1e-4, t.lr(), name);
            assertEquals(1e-5, t.minLr(), name);
            assertEquals(227, t.warmupSteps(), name);
            assertTrue(name.contains(c.model().preset().key()), name);
            if (name.contains("dense")) {
                assertEquals(Config.Mode.DENSE, c.slt().mode(), name);
                assertEquals(1.0, c.qkScale(), name);
            } else {
                assertEquals(Config.Mode.EDGEPOPUP, c.slt().mode(), name);
                assertEquals(0.3, c.slt().density(), name);
                assertEquals(0.0, t.weightDecay(), name);
                assertEquals(name.contains("scaled") ? Math.pow(64, 0.25) : 1.0, c.qkScale(), 1e-12, name);
            }
        }
        assertEquals(9, paper, "mini, small and medium x (slt, slt-scaled, dense)");
    }
}
