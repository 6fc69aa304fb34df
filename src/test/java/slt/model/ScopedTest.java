package slt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

/** Early freeing of intermediates: only the result survives, and the backward pass is unchanged. */
class ScopedTest {

    private static NDArray f(NDArray x) { // exp(x^2 / 2) * 3, four intermediates
        return Constants.mul(Constants.mul(x.mul(x), 0.5).exp(), 3);
    }

    @Test
    void onlyTheResultOutlivesTheCallAndItBelongsToTheCallersScope() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new float[] {0.5f, -1f, 2f});
            NDArray out;
            try (NDScope outer = new NDScope()) {
                int before = m.getManagedArrays().size();
                out = Scoped.call(() -> f(x));
                assertEquals(before + 1, m.getManagedArrays().size(), "intermediates closed, the result kept");
                NDArray unscoped = f(x);
                assertTrue(m.getManagedArrays().size() >= before + 5, "without it, every intermediate stays");
                assertArrayEquals(unscoped.toFloatArray(), out.toFloatArray(), 0f);
            }
            assertTrue(out.isReleased(), "the caller's scope closed the result");
            assertFalse(x.isReleased(), "an input is not the scope's to close");
        }
    }

    @Test
    void gradientsThroughClosedIntermediatesMatchTheFormula() {
        float[] xs = {0.5f, -1f, 2f, 0f};
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(xs);
            x.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector(); NDScope ignored = new NDScope()) {
                NDArray y = Scoped.call(() -> f(x)).sum();
                System.gc(); // nothing autograd needs may depend on a closed Java object
                gc.backward(y);
            }
            float[] g = x.getGradient().toFloatArray();
            for (int i = 0; i < xs.length; i++) {
                double expected = 3 * xs[i] * Math.exp(xs[i] * xs[i] / 2.0); // d/dx 3 exp(x^2/2)
                assertEquals(expected, g[i], 1e-5 * Math.max(1, Math.abs(expected)), "x = " + xs[i]);
            }
        }
    }
}
