package slt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import slt.config.Config;

class FlopsTest {
    @Test
    void gpt2SmallHasTheKnownMatmulParameterCountAndFlopsPerToken() {
        ModelSpec small = new ModelSpec(12, 12, 768, 64, 64, 1024, 50257, 0.02, 0.02, 1, 1, 1e-5, Config.Mode.EDGEPOPUP, true, 0.3,
                Config.Scope.TENSOR, 1, 1);
        // GPT-2 small: 85M parameters in its blocks' matrices + 38.6M in the tied head
        assertEquals(84_934_656L + 38_597_376L, Flops.matmulParams(small));
        // attention term at T = 1024: 12 * 12 * 768 * 1024
        assertEquals(6.0 * 123_532_032 + 113_246_208, Flops.trainingPerToken(small, 1024));
        assertEquals(Flops.trainingPerToken(small, 1024) / 3, Flops.forwardPerToken(small, 1024));
    }
}
