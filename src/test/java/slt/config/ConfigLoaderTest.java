package slt.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import slt.UserError;

class ConfigLoaderTest {

    @TempDir
    Path tmp;

    private Path yaml(String name, String text) throws IOException {
        Path f = tmp.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    /** Loads and expects a UserError; returns its message after checking it is a single line. */
    private static String refused(Path file, String... overrides) {
        UserError e = assertThrows(UserError.class, () -> ConfigLoader.load(file, List.of(overrides)));
        String msg = e.getMessage();
        assertFalse(msg.isBlank(), "empty message");
        assertEquals(1, msg.lines().count(), "UserError messages are one line: " + msg);
        return msg;
    }

    private static void assertContains(String msg, String... needles) {
        for (String n : needles) {
            assertTrue(msg.contains(n), "message should mention '" + n + "': " + msg);
        }
    }

    // ---- defaults -------------------------------------------------------------------------

    @Test
    void defaultsAreThePapersRecipe() {
        Config c = ConfigLoader.defaults();
        assertEquals(Preset.SMALL, c.model().preset());
        assertEquals(1.0, c.model().width());
        assertEquals(0.3, c.slt().density());
        assertEquals("1", c.slt().qkScale());
        assertEquals(1.0, c.qkScale());
        assertEquals(Config.Mode.EDGEPOPUP, c.slt().mode());
        assertEquals(Config.Scope.TENSOR, c.slt().scope());
        assertTrue(c.slt().maskEmbeddings());
        assertEquals(1e-4, c.train().lr());
        assertEquals(1e-5, c.train().minLr());
        assertEquals(50, c.train().epochs());
        assertEquals(227, c.train().stepsPerEpoch());
        assertEquals(512, c.train().batchSize());
        assertEquals(1024, c.data().seqLen());
        assertEquals(0.0, c.train().weightDecay());
        assertEquals(0.9, c.train().beta1());
        assertEquals(0.999, c.train().beta2());
        assertEquals(Config.Split.TRAIN, c.data().trainSplit());
        assertEquals(Config.Variant.RAW, c.data().variant());
        assertEquals(0.0, c.data().holdout());
        assertNull(c.run().name(), "run.name is derived by default");
        assertNull(c.train().gradClip(), "no clipping by default");
        assertEquals(12, c.nHead());
        assertEquals(768, c.dModel());
        assertEquals(1024, c.context());
        assertEquals(227L * 50, c.train().totalSteps());
    }

    @Test
    void loadWithoutFileOrOverridesEqualsDefaults() {
        assertEquals(ConfigLoader.defaults(), ConfigLoader.load(null, List.of()));
        assertEquals(ConfigLoader.defaults(), ConfigLoader.load(null, null));
    }

    @Test
    void anEmptyFileIsRefusedNotTakenForTheDefaults() throws IOException {
        // it used to mean "GPT-2 small, 50 epochs" without a word
        for (String text : new String[] {"", "# nothing\n", "{}\n", "---\n"}) {
            assertContains(refused(yaml("empty.yaml", text)), "empty.yaml", "is empty", "configs/quickstart.yaml");
        }
    }

    @Test
    void aSecondYamlDocumentIsRefused() throws IOException {
        // everything after the first --- was silently ignored
        Path f = yaml("two.yaml", "model:\n  preset: tiny\n---\ntrain:\n  epochs: 1\n");
        assertContains(refused(yaml("lists.yaml", "- a\n---\n- b\n")), "2 YAML documents");
        assertContains(refused(f), "two.yaml", "2 YAML documents", "merge");
        assertEquals("tiny", ConfigLoader.load(yaml("one.yaml", "---\nmodel:\n  preset: tiny\ndata:\n  seq_len: 64\n"),
                List.of()).model()
                .preset().key(), "a single document may start with ---");
    }

    @Test
    void aScalarOfTheWrongTypeSaysWhatWasGivenAndWhatIsExpected() {
        // used to say "takes a single whole number, not a list or section"
        assertContains(refused(null, "train.epochs=true"), "train.epochs", "'true'", "expected a whole number");
        assertContains(refused(null, "train.lr=yes"), "train.lr", "'true'", "expected a number");
    }

    // ---- layering ------------------------------------------------------------------------

    @Test
    void fileOverridesDefaultsAndKeepsTheRest() throws IOException {
        Path f = yaml("run.yaml", "train:\n  lr: 3.0e-4\n  epochs: 2\nslt:\n  density: 0.5\n");
        Config c = ConfigLoader.load(f, List.of());
        assertEquals(3e-4, c.train().lr());
        assertEquals(2, c.train().epochs());
        assertEquals(0.5, c.slt().density());
        assertEquals(227, c.train().stepsPerEpoch(), "keys the file leaves out keep their default");
        assertEquals(1e-5, c.train().minLr());
    }

    @Test
    void setOverridesTheFile() throws IOException {
        Path f = yaml("run.yaml", "train:\n  lr: 3.0e-4\n  seed: 5\n");
        Config c = ConfigLoader.load(f, List.of("train.lr=2e-4", "slt.scope=global"));
        assertEquals(2e-4, c.train().lr());
        assertEquals(5, c.train().seed(), "a key --set leaves alone keeps the file's value");
        assertEquals(Config.Scope.GLOBAL, c.slt().scope());
    }

    @Test
    void laterSetWins() {
        Config c = ConfigLoader.load(null, List.of("train.seed=2", "train.seed=3"));
        assertEquals(3, c.train().seed());
    }

    @Test
    void numbersInVariousSpellingsParse() throws IOException {
        assertEquals(3e-4, ConfigLoader.load(null, List.of("train.lr=3e-4")).train().lr());
        assertEquals(1e-4, ConfigLoader.load(null, List.of("train.lr=1.0e-4")).train().lr());
        assertEquals(5e-4, ConfigLoader.load(null, List.of("train.lr=0.0005")).train().lr());
        assertEquals(3e-4, ConfigLoader.load(yaml("e.yaml", "train:\n  lr: 3e-4\n"), List.of()).train().lr(),
                "YAML 1.1 reads 3e-4 as a string; it must still bind as a number");
        assertEquals(1.0, ConfigLoader.load(null, List.of("train.grad_clip=1")).train().gradClip());
    }

    @Test
    void nullClearsANullableKey() throws IOException {
        Path f = yaml("clip.yaml", "train:\n  grad_clip: 1.0\n  eval_every: 20\n");
        assertEquals(1.0, ConfigLoader.load(f, List.of()).train().gradClip());
        Config c = ConfigLoader.load(f, List.of("train.grad_clip=null", "train.eval_every=null"));
        assertNull(c.train().gradClip());
        assertNull(c.train().evalEvery());
        assertEquals(c.train().stepsPerEpoch(), c.train().evalInterval());
    }

    @Test
    void setValueMayContainEqualsSignsAndSpaces() {
        Config c = ConfigLoader.load(null, List.of("run.name=a=b", " train.seed = 4 "));
        assertEquals("a=b", c.run().name());
        assertEquals(4, c.train().seed());
    }

    @Test
    void enumsAreCaseInsensitive() {
        Config c = ConfigLoader.load(null, List.of("model.preset=MINI", "data.seq_len=512", "slt.mode=Dense"));
        assertEquals(Preset.MINI, c.model().preset());
        assertEquals(Config.Mode.DENSE, c.slt().mode());
    }

    @Test
    void qkScaleAutoResolvesToHeadDimFourthRoot() {
        Config c = ConfigLoader.load(null, List.of("slt.qk_scale=auto"));
        assertEquals("auto", c.slt().qkScale());
        assertEquals(Math.pow(64, 0.25), c.qkScale());
        assertEquals(2.8284271247461903, c.qkScale());
        assertEquals(Math.pow(64, 0.25), ConfigLoader.load(null, List.of("slt.qk_scale=AUTO")).qkScale());
    }

    @Test
    void resolvedHasNumericQkScaleAndRunName() {
        Config c = ConfigLoader.load(null, List.of("slt.qk_scale=auto", "train.seed=3"));
        Config r = c.resolved();
        assertEquals(Math.pow(64, 0.25), Double.parseDouble(r.slt().qkScale()));
        assertEquals(c.runName(), r.run().name());
        assertTrue(r.run().name() != null && !r.run().name().isBlank());
        assertEquals(c.runName(), r.runName(), "resolving does not change the run name");
        assertEquals(c.qkScale(), r.qkScale());
        assertEquals(r, r.resolved(), "resolving is idempotent");
        assertEquals(c.train(), r.train());
        assertEquals(c.model(), r.model());
        r.validate();
    }

    // ---- unknown keys and malformed input ------------------------------------------------------

    @Test
    void unknownKeyInFileIsNamedWithTheKnownKeys() throws IOException {
        Path f = yaml("typo.yaml", "train:\n  lrr: 3.0e-4\n");
        String msg = refused(f);
        assertContains(msg, "'train.lrr'", f.toString(), "lr", "min_lr", "batch_size");
    }

    @Test
    void unknownSectionInFileIsNamedWithTheSections() throws IOException {
        Path f = yaml("section.yaml", "optim:\n  lr: 3.0e-4\n");
        String msg = refused(f);
        assertContains(msg, "'optim'", f.toString(), "run", "model", "slt", "data", "train");
    }

    @Test
    void aRecordedConfigFromBeforeLaterKeysLoadsWithTheBehaviourItWasComputedWith() throws IOException {
        String full = ConfigLoader.toYaml(ConfigLoader.load(null, List.of("model.preset=tiny", "data.seq_len=64")).resolved());
        StringBuilder old = new StringBuilder(); // as a run recorded it before these keys existed
        for (String line : full.split("\n")) {
            if (!line.matches("\\s+(replicas|gpus|tensorboard|qk_dim|v_dim|precision):.*")) {
                old.append(line).append('\n');
            }
        }
        assertFalse(old.toString().contains("precision"), old.toString());
        Path file = yaml("config.yaml", old.toString());
        Config c = ConfigLoader.loadRecorded(file, List.of());
        assertEquals(Config.Precision.FP32, c.train().precision(), "before train.precision, products were fp32 (auto is TF32 on a GPU)");
        assertEquals(1, c.run().replicas());
        assertNull(c.model().qkDim());
        assertEquals(Config.Precision.FP32, ConfigLoader.loadText(old.toString(), "an old ticket", List.of()).train().precision());
        assertEquals(Config.Precision.BF16, ConfigLoader.loadRecorded(file, List.of("train.precision=bf16")).train().precision(),
                "the user's override still wins (eval may set it)");
        assertEquals(Config.Precision.AUTO, ConfigLoader.loadRecorded(yaml("new.yaml", full), List.of()).train().precision(),
                "a run that recorded the key keeps it");
        Path cut = yaml("cut.yaml", old.toString().replaceAll("\\n\\s+lr:.*", ""));
        assertThrows(UserError.class, () -> ConfigLoader.loadRecorded(cut, List.of()), "any other missing key is damage");
    }

    @Test
    void unknownKeyViaSetIsNamedWithTheKnownKeys() {
        String msg = refused(null, "train.lrr=1e-3");
        assertContains(msg, "'train.lrr'", "override train.lrr=1e-3", "min_lr", "lr");
    }

    @Test
    void unknownSectionViaSetIsNamedWithTheSections() {
        String msg = refused(null, "optim.lr=1e-3");
        assertContains(msg, "'optim'", "override optim.lr=1e-3", "model", "train");
    }

    @Test
    void setWithoutEqualsSignShowsTheForm() {
        String msg = refused(null, "train.lr");
        assertContains(msg, "train.lr", "section.key=value");
        refused(null, "=3");
    }

    @Test
    void setWithoutSectionShowsTheForm() {
        String msg = refused(null, "lr=3e-4");
        assertContains(msg, "'lr'", "section.key");
        refused(null, "train.lr.x=3e-4");
        refused(null, "train=3");
    }

    @Test
    void sectionGivenAScalarIsRefused() throws IOException {
        Path f = yaml("scalar.yaml", "train: 5\n");
        String msg = refused(f);
        assertContains(msg, "'train'", f.toString(), "section");
    }

    @Test
    void scalarKeyGivenAListOrSectionIsRefused() throws IOException {
        Path f = yaml("list.yaml", "train:\n  lr: [1.0e-4, 2.0e-4]\n");
        assertContains(refused(f), "'train.lr'", f.toString(), "single value");
        Path g = yaml("map.yaml", "train:\n  lr:\n    peak: 1.0e-4\n");
        assertContains(refused(g), "'train.lr'", "single value");
    }

    @Test
    void topLevelNotAMappingIsRefused() throws IOException {
        Path f = yaml("list-top.yaml", "- train\n- lr\n");
        assertContains(refused(f), f.toString(), "mapping");
    }

    @Test
    void badNumberNamesTheKeyAndSaysANumberIsExpected() {
        String msg = refused(null, "train.lr=abc");
        assertContains(msg, "'train.lr'", "abc", "number");
    }

    @Test
    void badWholeNumberNamesTheKey() {
        String msg = refused(null, "train.epochs=many");
        assertContains(msg, "'train.epochs'", "many", "whole number");
    }

    @Test
    void fractionForAWholeNumberIsRefused() {
        // 1.5 epochs silently becoming 1 would change the run without telling.
        String msg = refused(null, "train.epochs=1.5");
        assertContains(msg, "train.epochs");
    }

    @Test
    void badBooleanNamesTheKey() {
        String msg = refused(null, "slt.mask_embeddings=maybe");
        assertContains(msg, "slt.mask_embeddings", "maybe");
    }

    @Test
    void badEnumListsTheChoices() {
        String msg = refused(null, "slt.scope=layer");
        assertContains(msg, "'slt.scope'", "layer", "tensor", "global");
        assertContains(refused(null, "model.preset=huge"), "model.preset", "tiny", "mini", "small", "medium");
    }

    @Test
    void nullForARequiredKeyIsRefused() {
        String msg = refused(null, "train.epochs=null");
        assertContains(msg, "train.epochs", "null");
    }

    @Test
    void yamlSyntaxErrorNamesTheFileAndLine() throws IOException {
        Path f = yaml("broken.yaml", "train:\n  lr: 1.0e-4\n  epochs: [1, 2\nslt:\n  density: 0.3\n");
        String msg = refused(f);
        assertContains(msg, f.toString(), "YAML", "line ");
        assertTrue(msg.matches(".*line \\d+.*"), "a line number: " + msg);
    }

    @Test
    void missingFileIsNamed() {
        Path f = tmp.resolve("nope.yaml");
        String msg = refused(f);
        assertContains(msg, f.toString(), "not found", "configs/quickstart.yaml");
    }

    @Test
    void directoryAsConfigFileIsRefused() {
        String msg = refused(tmp);
        assertContains(msg, tmp.toString());
    }

    @Test
    void quickstartConfigLoads() {
        Config c = ConfigLoader.load(Path.of("configs/quickstart.yaml"), List.of());
        assertEquals(Preset.TINY, c.model().preset());
        assertEquals("quickstart", c.runName());
        assertEquals(Math.pow(64, 0.25), c.qkScale());
        assertEquals(Config.Split.VALID, c.data().trainSplit());
    }

    @Test
    void enumsAreNamesNotPositions() {
        assertContains(refused(null, "model.preset=3"), "'model.preset'", "'3'", "tiny, mini, small, medium");
        assertContains(refused(null, "slt.mode=1"), "'slt.mode'", "edgepopup, dense");
        assertContains(refused(null, "run.device=0"), "'run.device'", "auto, cpu, gpu");
    }

    @Test
    void emptyListAndHugeValuesNameTheKeyAndTheFixWithoutJacksonInternals() {
        for (String msg : List.of(refused(null, "train.lr="), refused(null, "train.lr=[1,2]"),
                refused(null, "train.epochs=99999999999"))) {
            assertContains(msg, "'train.");
            assertFalse(msg.contains("DeserializationFeature") || msg.contains("JsonToken") || msg.contains("`"), msg);
        }
        assertContains(refused(null, "train.lr="), "must not be empty");
        assertContains(refused(null, "train.lr=[1,2]"), "single number, not a list");
        assertContains(refused(null, "train.epochs=99999999999"), "too large", "2147483647");
    }

    @Test
    void aKeyGivenTwiceADirectoryAndAFileThatIsNoYamlAreRefused() throws IOException {
        Path dup = tmp.resolve("dup.yaml");
        Files.writeString(dup, "train:\n  lr: 1\ntrain:\n  lr: 2\n");
        assertContains(refused(dup), "'train' twice", "line 4");
        assertContains(refused(tmp), "is a directory", "YAML file");
        Path text = tmp.resolve("notes.md");
        Files.writeString(text, "# Notes\n\n`code` and: {odd\n");
        assertContains(refused(text), "not valid YAML", "configs/quickstart.yaml");
    }
}
