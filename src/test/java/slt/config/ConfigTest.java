package slt.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import slt.UserError;

class ConfigTest {

    @TempDir
    Path tmp;

    private static Config load(String... overrides) {
        return ConfigLoader.load(null, List.of(overrides));
    }

    /** Expects validation to refuse the overrides; returns the one-line message. */
    private static String refused(String... overrides) {
        UserError e = assertThrows(UserError.class, () -> load(overrides));
        assertEquals(1, e.getMessage().lines().count(), "one line: " + e.getMessage());
        return e.getMessage();
    }

    private static void assertContains(String msg, String... needles) {
        for (String n : needles) {
            assertTrue(msg.contains(n), "message should mention '" + n + "': " + msg);
        }
    }

    // ---- validation ----------------------------------------------------------------------

    @Test
    void densityZeroIsRefused() {
        assertContains(refused("slt.density=0"), "slt.density", "(0, 1]");
    }

    @Test
    void densityAboveOneIsRefused() {
        assertContains(refused("slt.density=1.5"), "slt.density", "1.5", "(0, 1]");
    }

    @Test
    void densityOneIsAccepted() {
        assertEquals(1.0, load("slt.density=1").slt().density());
    }

    @Test
    void microBatchMustDivideBatchSize() {
        String msg = refused("train.micro_batch=3");
        assertContains(msg, "train.batch_size", "train.micro_batch", "512", "3", "divide");
        assertEquals(64, load("train.micro_batch=64").train().microBatch());
        assertEquals(8, load("train.micro_batch=64").train().accumulation());
    }

    @Test
    void seqLenBeyondTheModelsPositionsIsRefused() {
        String msg = refused("model.preset=mini", "data.seq_len=1024");
        assertContains(msg, "data.seq_len", "1024", "512", "model.context");
    }

    @Test
    void seqLenBeyondThePresetIsAcceptedWithALargerContext() {
        Config c = load("model.preset=mini", "data.seq_len=1024", "model.context=1024");
        assertEquals(1024, c.context());
        assertEquals(1024, c.data().seqLen());
    }

    @Test
    void defaultSeqLenDoesNotFitTheTinyPreset() {
        // defaults are GPT-2 small's: seq_len 1024 > tiny's 128 positions; the message says what to set.
        assertContains(refused("model.preset=tiny"), "data.seq_len", "128", "model.context");
        assertEquals(128, load("model.preset=tiny", "data.seq_len=128").context());
    }

    @Test
    void widthGivingFractionalHeadsIsRefused() {
        String msg = refused("model.width=0.3");
        assertContains(msg, "model.width", "0.3", "small", "heads", "whole number");
    }

    @Test
    void zeroOrNegativeWidthIsRefused() {
        assertContains(refused("model.width=0"), "model.width");
        assertContains(refused("model.width=-1"), "model.width");
    }

    @Test
    void halfWidthMini() {
        Config c = load("model.preset=mini", "model.width=0.5", "data.seq_len=512");
        assertEquals(4, c.nHead());
        assertEquals(256, c.dModel());
        assertEquals(4, c.model().preset().layers(), "width leaves the depth alone");
    }

    @Test
    void doubleWidthMedium() {
        Config c = load("model.preset=medium", "model.width=2");
        assertEquals(32, c.nHead());
        assertEquals(2048, c.dModel());
        assertEquals(24, c.model().preset().layers());
    }

    @Test
    void presetsHaveTheDocumentedShapes() {
        assertEquals(128, Preset.TINY.dModel());
        assertEquals(512, Preset.MINI.dModel());
        assertEquals(768, Preset.SMALL.dModel());
        assertEquals(1024, Preset.MEDIUM.dModel());
        assertEquals(2, Preset.TINY.layers());
        assertEquals(128, Preset.TINY.context());
        assertEquals(512, Preset.MINI.context());
    }

    @Test
    void trainingOnValidWithoutHoldoutIsRefused() {
        String msg = refused("data.train_split=valid");
        assertContains(msg, "data.train_split", "data.holdout");
        assertEquals(0.1, load("data.train_split=valid", "data.holdout=0.1").data().holdout());
    }

    @Test
    void holdoutOutsideRangeIsRefused() {
        assertContains(refused("data.holdout=1"), "data.holdout");
        assertContains(refused("data.holdout=-0.1"), "data.holdout");
    }

    @Test
    void minLrAboveLrIsRefused() {
        String msg = refused("train.min_lr=1e-3");
        assertContains(msg, "train.min_lr", "train.lr");
        assertEquals(1e-4, load("train.min_lr=1e-4").train().minLr(), "min_lr = lr is a constant schedule");
    }

    @Test
    void negativeQkScaleIsRefused() {
        assertContains(refused("slt.qk_scale=-1"), "slt.qk_scale", "-1", "auto");
    }

    @Test
    void nonNumericQkScaleIsRefused() {
        assertContains(refused("slt.qk_scale=foo"), "slt.qk_scale", "foo", "auto");
        assertContains(refused("slt.qk_scale=0"), "slt.qk_scale");
    }

    @Test
    void numericQkScaleIsAccepted() {
        assertEquals(2.0, load("slt.qk_scale=2").qkScale());
        assertEquals(0.5, load("slt.qk_scale=0.5").qkScale());
    }

    @Test
    void otherRangesAreChecked() {
        assertContains(refused("train.epochs=0"), "train.epochs");
        assertContains(refused("train.warmup_epochs=51"), "train.warmup_epochs", "50");
        assertContains(refused("train.beta2=1"), "train.beta2");
        assertContains(refused("train.grad_clip=0"), "train.grad_clip");
        assertContains(refused("data.seq_len=1"), "data.seq_len");
        assertContains(refused("run.threads=-1"), "run.threads");
        assertContains(refused("run.name=a/b"), "run.name", "a/b");
        // a run name is one directory name: '..' wrote the run into run.dir's parent, '.' into run.dir itself
        for (String bad : new String[] {"..", ".", "../x", "a/../..", "''"}) {
            assertContains(refused("run.name=" + bad), "run.name", "not one directory name");
        }
        assertEquals("..a", load("run.name=..a").runName(), "dots inside a name are fine");
        assertContains(refused("run.dir="), "run.dir");
    }

    @Test
    void aDensityThatKeepsNoWeightOfSomeTensorIsRefusedWithTheSmallestUsefulValue() {
        // 1e-7 kept one weight in the whole network (loss stuck at ln 50257) without a word
        String msg = refused("slt.density=0.0000001", "model.preset=tiny", "data.seq_len=64");
        assertContains(msg, "slt.density", "16384 entries", "at least 3.05e-05", "0.00781");
        // tiny: the smallest masked tensor is a 128 x 128 projection; round(d * n) >= 1 from d = 0.5 / 16384
        assertEquals(0.5 / 16384, load("model.preset=tiny", "data.seq_len=64", "slt.density=" + 0.5 / 16384).slt().density());
        refused("model.preset=tiny", "data.seq_len=64", "slt.density=" + 0.49 / 16384);
        assertEquals(1e-7, load("slt.mode=dense", "slt.density=0.0000001").slt().density(), "dense mode masks nothing");
        assertEquals(128L * 128, load("model.preset=tiny", "data.seq_len=64", "slt.mask_embeddings=false").smallestMaskedTensor());
        assertEquals(16L * 128, load("model.preset=tiny", "model.context=16", "data.seq_len=16").smallestMaskedTensor(),
                "a short position table is the smallest");
    }

    // ---- run names -----------------------------------------------------------------------

    @Test
    void defaultRunNameDescribesTheRun() {
        assertEquals("small-slt-qk1-k0.3-s1", ConfigLoader.defaults().runName());
    }

    @Test
    void explicitRunNameWins() {
        assertEquals("mine", load("run.name=mine", "train.seed=9").runName());
    }

    @Test
    void derivedRunNamesAreStable() {
        String[] set = {"slt.qk_scale=auto", "slt.density=0.5", "train.seed=7"};
        assertEquals(load(set).runName(), load(set).runName());
        assertEquals(load(set).runName(), load(set).resolved().runName());
    }

    @Test
    void derivedRunNamesDifferForWhatDistinguishesRuns() {
        List<Config> variants = List.of(
                ConfigLoader.defaults(),
                load("train.seed=2"),
                load("slt.qk_scale=auto"),
                load("slt.qk_scale=2"),
                load("slt.density=0.5"),
                load("slt.mode=dense"),
                load("model.width=2"),
                load("model.preset=medium"),
                load("slt.mode=dense", "train.seed=2"));
        Set<String> names = new HashSet<>();
        for (Config c : variants) {
            names.add(c.runName());
        }
        assertEquals(variants.size(), names.size(), "names: " + names);
        assertTrue(load("slt.qk_scale=auto").runName().contains("qk2.83"), load("slt.qk_scale=auto").runName());
        assertTrue(load("model.width=2").runName().contains("-x2"), load("model.width=2").runName());
        assertTrue(load("train.seed=2").runName().endsWith("-s2"));
    }

    @Test
    void denseRunNameHasNoDensityAndQkOnlyWhenScaled() {
        String name = load("slt.mode=dense", "slt.qk_scale=auto").runName();
        assertTrue(name.contains("dense"), name);
        assertTrue(name.contains("qk2.83"), "dense runs with scaled Q/K init must not collide with plain ones: " + name);
        assertFalse(name.contains("-k"), name);
        assertEquals("small-dense-s1", load("slt.mode=dense").runName());
    }

    @Test
    void derivedRunNamesAreValidRunNames() {
        for (Config c : List.of(ConfigLoader.defaults(), load("slt.qk_scale=auto"),
                load("model.preset=mini", "model.width=0.5", "data.seq_len=512"))) {
            String name = c.runName();
            assertTrue(name.matches("[A-Za-z0-9._=+-]+"), name);
            ConfigLoader.load(null, List.of("run.name=" + name)); // accepted by validation
        }
    }

    // ---- YAML round trip -----------------------------------------------------------------

    private Config roundTrip(Config c) throws IOException {
        Path f = tmp.resolve("round-trip-" + System.nanoTime() + ".yaml");
        Files.writeString(f, ConfigLoader.toYaml(c));
        return ConfigLoader.load(f, List.of());
    }

    @Test
    void toYamlRoundTripsANonTrivialConfig() throws IOException {
        Config c = load(
                "run.dir=" + tmp.resolve("runs"),
                "run.device=cpu",
                "run.threads=4",
                "model.preset=mini",
                "model.width=0.5",
                "model.context=1024",
                "model.logit_scale=4",
                "slt.mode=edgepopup",
                "slt.density=0.25",
                "slt.scope=global",
                "slt.qk_scale=auto",
                "slt.mask_embeddings=false",
                "slt.rescale=sqrt_density",
                "data.path=" + tmp.resolve("wiki"),
                "data.variant=tokens",
                "data.train_split=valid",
                "data.holdout=0.1",
                "data.seq_len=1000",
                "data.cache_dir=" + tmp.resolve("cache"),
                "train.seed=12345678901",
                "train.lr=3e-4",
                "train.min_lr=0",
                "train.warmup_epochs=0.5",
                "train.weight_decay=0.01",
                "train.grad_clip=1.0",
                "train.eval_every=17",
                "train.eval_windows=3",
                "train.checkpoint_every=33",
                "train.batch_size=24",
                "train.micro_batch=6");
        assertEquals(c, roundTrip(c));
        assertEquals(c.resolved(), roundTrip(c.resolved()));
    }

    @Test
    void toYamlRoundTripsDefaultsAndDense() throws IOException {
        assertEquals(ConfigLoader.defaults(), roundTrip(ConfigLoader.defaults()));
        Config dense = load("slt.mode=dense", "run.name=1", "slt.qk_scale=1.5");
        assertEquals(dense, roundTrip(dense));
    }

    @Test
    void toYamlWritesSnakeCaseKeysAndLowerCaseEnums() {
        String y = ConfigLoader.toYaml(load("slt.scope=global", "slt.rescale=sqrt_density"));
        assertContains(y, "steps_per_epoch: 227", "mask_embeddings: true", "scope: global", "rescale: sqrt_density",
                "preset: small", "mode: edgepopup");
        assertFalse(y.contains("stepsPerEpoch"), y);
        assertFalse(y.contains("GLOBAL"), y);
    }

    @Test
    void toTreeHasEverySectionAndKey() {
        var tree = ConfigLoader.toTree(ConfigLoader.defaults());
        assertEquals(Set.of("run", "model", "slt", "data", "train"), tree.keySet());
        assertEquals(ConfigLoader.defaultTree().keySet(), tree.keySet());
        for (String section : tree.keySet()) {
            assertEquals(((java.util.Map<?, ?>) ConfigLoader.defaultTree().get(section)).keySet(),
                    ((java.util.Map<?, ?>) tree.get(section)).keySet(),
                    "defaults.yaml and the records must list the same keys in section " + section);
        }
    }

    @Test
    void trainScheduleHelpers() {
        Config.Train t = load("train.epochs=4", "train.steps_per_epoch=50", "train.warmup_epochs=0.5",
                "train.checkpoint_every=7").train();
        assertEquals(200, t.totalSteps());
        assertEquals(25, t.warmupSteps());
        assertEquals(50, t.evalInterval());
        assertEquals(7, t.checkpointInterval());
    }

    @Test
    void recordsCompareByValue() {
        assertEquals(load("train.lr=2e-4"), load("train.lr=0.0002"));
        assertNotEquals(load("train.lr=2e-4"), load("train.lr=3e-4"));
    }
}
