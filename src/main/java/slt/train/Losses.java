package slt.train;

import ai.djl.ndarray.NDArray;
import slt.model.Constants;

/** Token-level cross-entropy of next-token logits. */
public final class Losses {
    private Losses() {}

    /** Summed negative log-likelihood of {@code targets} (B, T) under {@code logits} (B, T, V). */
    public static NDArray nllSum(NDArray logits, NDArray targets) {
        return logits.logSoftmax(-1).gather(targets.expandDims(-1), -1).sum().neg();
    }

    /** Mean cross-entropy per token (the training loss). */
    public static NDArray crossEntropy(NDArray logits, NDArray targets) {
        return Constants.div(nllSum(logits, targets), targets.size());
    }
}
