package slt.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import slt.TestRuns;
import slt.UserError;
import slt.checkpoint.HfExport;
import slt.checkpoint.SafeTensors;
import slt.checkpoint.Ticket;
import slt.config.Config;
import slt.data.Gpt2Tokenizer;
import slt.model.MaskedBlock;

/** Tickets (seed + packed masks) and the Hugging Face export, from a short real run. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TicketAndExportTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;

    private Path runDir;
    private List<JsonNode> metrics;

    @BeforeAll
    void shortRun() throws IOException {
        List<String> o = new ArrayList<>(List.of(ResumeTest.SHORT));
        o.add("run.name=ticket");
        o.add("slt.rescale=sqrt_density");
        o.add("train.checkpoint_every=4");
        o.add("train.keep_checkpoints=10");
        try (Trainer t = Trainer.create(TestRuns.tiny(tmp, o.toArray(String[]::new)), false)) {
            t.run();
        }
        runDir = tmp.resolve("runs/ticket");
        metrics = TestRuns.metrics(runDir);
    }

    private double runValLoss(long step) {
        return metrics.stream().filter(l -> l.get("step").asLong() == step && l.has("val_loss")).findFirst()
                .orElseThrow().get("val_loss").asDouble();
    }

    @Test
    void aTicketReproducesTheRunsOwnEvaluationExactlyAndIsAbout1Over32OfFp32() throws IOException {
        for (long step : new long[] {8, 18}) {
            Path file = tmp.resolve("s" + step + ".ticket");
            long fp32;
            try (LoadedModel m = LoadedModel.fromRun(runDir, LoadedModel.Which.LATEST, step, List.of())) {
                Ticket t = m.ticket();
                t.write(file);
                fp32 = 0;
                for (MaskedBlock b : m.model().weights()) {
                    fp32 += 4 * b.numel();
                }
                assertEquals(runValLoss(step), m.valLoss(), "the checkpoint knows its validation loss");
            }
            double ratio = (double) Files.size(file) / fp32;
            assertTrue(ratio > 1 / 33.0 && ratio < 1 / 31.0, "ticket / fp32 = 1/" + 1 / ratio);
            try (LoadedModel fromTicket = LoadedModel.fromTicket(file, List.of())) {
                Evaluation.Result r = Evaluation.of(fromTicket, Config.Split.VALID, null);
                assertEquals(runValLoss(step), r.loss(), 0.0, "eval --ticket = the run's own evaluation at step " + step);
                assertEquals(step, r.step());
                assertEquals(runValLoss(step), fromTicket.valLoss());
            }
        }
    }

    @Test
    void ticketMasksAreTheRunsMasksBitForBitAndDamageIsDetected() throws IOException {
        Path file = tmp.resolve("best.ticket");
        List<float[]> masks = new ArrayList<>();
        try (LoadedModel m = LoadedModel.fromRun(runDir, LoadedModel.Which.BEST, null, List.of())) {
            m.ticket().write(file);
            for (MaskedBlock b : m.model().weights()) {
                masks.add(b.mask().toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray());
            }
        }
        Ticket t = Ticket.read(file);
        int i = 0;
        for (Ticket.Mask mask : t.masks().values()) {
            float[] want = masks.get(i++);
            long kept = 0;
            for (int j = 0; j < want.length; j++) {
                assertEquals(want[j] != 0, ((mask.bits()[j >>> 3] >>> (j & 7)) & 1) == 1, "bit " + j);
                kept += (long) want[j];
            }
            assertEquals(kept, mask.kept());
            assertEquals(Math.round(0.3 * want.length), kept, "exactly k kept");
        }
        try (RandomAccessFile r = new RandomAccessFile(file.toFile(), "rw")) {
            r.seek(r.length() / 2);
            int b = r.read();
            r.seek(r.length() / 2);
            r.write(b ^ 1);
        }
        IOException e = assertThrows(IOException.class, () -> Ticket.read(file));
        assertTrue(e.getMessage().contains("damaged") && e.getMessage().contains(file.toString()), e.getMessage());
        UserError u = assertThrows(UserError.class, () -> LoadedModel.fromTicket(file, List.of()));
        assertTrue(u.getMessage().contains("damaged"), u.getMessage());
    }

    @Test
    void theSafetensorsExportHoldsTheMaskedWeightsUnderHuggingFaceNames() throws IOException {
        Path out = tmp.resolve("hf");
        Map<String, float[]> effective = new java.util.HashMap<>();
        int layers;
        double logitScale;
        try (LoadedModel m = LoadedModel.fromRun(runDir, LoadedModel.Which.LATEST, null, List.of())) {
            HfExport.write(m.model(), out);
            layers = m.model().spec().nLayer();
            logitScale = m.model().spec().logitScale();
            double rescale = m.model().spec().rescale();
            assertEquals(1 / Math.sqrt(0.3), rescale, 1e-12);
            for (MaskedBlock b : m.model().weights()) {
                float[] w = b.weight().getArray().toFloatArray();
                float[] mask = b.mask().toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
                float[] e = new float[w.length];
                for (int i = 0; i < w.length; i++) {
                    e[i] = w[i] * mask[i] * (float) rescale; // W * M * 1/sqrt(density), computed here
                }
                effective.put(b.name(), e);
            }
        }
        try (NDManager nm = NDManager.newBaseManager()) {
            Map<String, NDArray> t = SafeTensors.read(out.resolve("model.safetensors"), nm);
            assertArrayEquals(effective.get("wte"), t.get("transformer.wte.weight").toFloatArray(), 1e-7f);
            assertArrayEquals(effective.get("wpe"), t.get("transformer.wpe.weight").toFloatArray(), 1e-7f);
            for (int i = 0; i < layers; i++) {
                for (String n : List.of("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")) {
                    NDArray conv1d = t.get("transformer.h." + i + "." + n + ".weight");
                    long[] s = conv1d.getShape().getShape();
                    float[] got = conv1d.toFloatArray();
                    float[] ours = effective.get("h." + i + "." + n); // (out, in) = (s[1], s[0])
                    for (int r = 0; r < s[0]; r++) {
                        for (int c = 0; c < s[1]; c++) {
                            assertEquals(ours[(int) (c * s[0] + r)], got[(int) (r * s[1] + c)], 1e-7f, n + " transposed");
                        }
                    }
                    assertEquals(0f, t.get("transformer.h." + i + "." + n + ".bias").abs().sum().getFloat());
                }
                assertEquals(1f, t.get("transformer.h." + i + ".ln_1.weight").min().getFloat());
            }
            assertEquals((float) logitScale, t.get("transformer.ln_f.weight").max().getFloat());
            assertEquals((float) logitScale, t.get("transformer.ln_f.weight").min().getFloat());
        }
        JsonNode c = JSON.readTree(out.resolve("config.json").toFile());
        assertEquals("gpt2", c.get("model_type").asText());
        assertEquals("gelu_new", c.get("activation_function").asText());
        assertEquals(128, c.get("n_embd").asInt());
        assertEquals(2, c.get("n_head").asInt());
        assertEquals(50257, c.get("vocab_size").asInt());
    }

    @Test
    void generationIsSeededAndRespectsTemperatureAndTopK() {
        try (LoadedModel m = LoadedModel.fromRun(runDir, LoadedModel.Which.LATEST, null, List.of())) {
            int[] prompt = Gpt2Tokenizer.encode("The history of");
            int[] a = TextGenerator.generate(m.model(), m.manager(), prompt, 12, 1.0, 20, 7);
            int[] b = TextGenerator.generate(m.model(), m.manager(), prompt, 12, 1.0, 20, 7);
            int[] c = TextGenerator.generate(m.model(), m.manager(), prompt, 12, 1.0, 20, 8);
            assertArrayEquals(a, b, "same seed, same text");
            assertFalse(java.util.Arrays.equals(a, c), "another seed, other text");
            assertEquals(12, a.length);
            // greedy: each token is the argmax of the model's logits after the tokens so far
            int[] g = TextGenerator.generate(m.model(), m.manager(), prompt, 4, 0, 0, 1);
            int[] seq = java.util.Arrays.copyOf(prompt, prompt.length + 4);
            for (int i = 0; i < 4; i++) {
                int len = prompt.length + i;
                long[] ids = new long[len];
                for (int j = 0; j < len; j++) {
                    ids[j] = seq[j];
                }
                float[] logits = m.model().logits(m.manager().create(ids, new ai.djl.ndarray.types.Shape(1, len)))
                        .get("0, -1").toFloatArray();
                int arg = 0;
                for (int v = 1; v < logits.length; v++) {
                    if (logits[v] > logits[arg]) {
                        arg = v;
                    }
                }
                assertEquals(arg, g[i], "greedy token " + i);
                seq[len] = g[i];
            }
        }
        java.util.SplittableRandom rng = new java.util.SplittableRandom(3);
        float[] logits = {0f, 5f, 4.9f, -3f};
        for (int i = 0; i < 200; i++) {
            int k = TextGenerator.pick(logits, 1.0, 2, rng);
            assertTrue(k == 1 || k == 2, "top-2 only: " + k);
        }
        assertNotEquals(-1, TextGenerator.pick(logits, 5.0, 0, rng));
    }

    @Test
    void aDenseRunHasNoTicket() throws IOException {
        List<String> o = new ArrayList<>(List.of(ResumeTest.SHORT));
        o.addAll(List.of("run.name=dense", "slt.mode=dense", "train.epochs=1", "train.steps_per_epoch=2"));
        try (Trainer t = Trainer.create(TestRuns.tiny(tmp, o.toArray(String[]::new)), false)) {
            t.run();
        }
        try (LoadedModel m = LoadedModel.fromRun(tmp.resolve("runs/dense"), LoadedModel.Which.LATEST, null, List.of())) {
            UserError e = assertThrows(UserError.class, m::ticket);
            assertTrue(e.getMessage().contains("safetensors"), e.getMessage());
            HfExport.write(m.model(), tmp.resolve("dense-hf")); // the dense weights export fine
        }
        assertTrue(Files.size(tmp.resolve("dense-hf/model.safetensors")) > 4L * 6_000_000);
    }

    private static int cli(java.io.StringWriter err, String... args) {
        return slt.cli.Main.run(new java.io.PrintWriter(new java.io.StringWriter(), true), new java.io.PrintWriter(err, true), args);
    }

    @Test
    void exportOntoAnExistingPathIsRefusedOrReplacedCleanly() throws IOException {
        Path file = Files.writeString(tmp.resolve("existing.txt"), "keep me");
        for (String[] force : new String[][] {{}, {"--force"}}) {
            // safetensors onto a file: exited 1 with FileAlreadyExistsException
            java.io.StringWriter err = new java.io.StringWriter();
            List<String> args = new ArrayList<>(List.of("export", "--run-dir", runDir.toString(), "--format", "safetensors",
                    "--out", file.toString()));
            args.addAll(List.of(force));
            assertEquals(2, cli(err, args.toArray(String[]::new)), err.toString());
            assertTrue(err.toString().startsWith("error: --out " + file + " is a file") && err.toString().lines().count() == 1,
                    err.toString());
            assertEquals("keep me", Files.readString(file));
            // a ticket onto a directory: exited 1 and left an 857 KB .NAME.tmp behind
            Path dir = Files.createDirectories(tmp.resolve("hfdir"));
            err = new java.io.StringWriter();
            args = new ArrayList<>(List.of("export", "--run-dir", runDir.toString(), "--out", dir.toString()));
            args.addAll(List.of(force));
            assertEquals(2, cli(err, args.toArray(String[]::new)), err.toString());
            assertTrue(err.toString().startsWith("error: --out " + dir + " is a directory"), err.toString());
            try (var l = Files.list(tmp)) {
                assertTrue(l.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary left");
            }
        }
        // a ticket onto an existing ticket: refused, then replaced with --force
        Path t = tmp.resolve("again.ticket");
        java.io.StringWriter err = new java.io.StringWriter();
        assertEquals(0, cli(err, "export", "--run-dir", runDir.toString(), "--out", t.toString()), err.toString());
        byte[] first = Files.readAllBytes(t);
        assertEquals(2, cli(err, "export", "--run-dir", runDir.toString(), "--out", t.toString()));
        assertEquals(0, cli(err, "export", "--run-dir", runDir.toString(), "--step", "8", "--out", t.toString(), "--force"));
        assertFalse(java.util.Arrays.equals(first, Files.readAllBytes(t)), "replaced by step 8's ticket");
        // safetensors into a directory that holds an export: refused, then replaced with --force
        Path hf = tmp.resolve("hf-again");
        assertEquals(0, cli(err, "export", "--run-dir", runDir.toString(), "--format", "safetensors", "--out", hf.toString()));
        assertEquals(2, cli(err, "export", "--run-dir", runDir.toString(), "--format", "safetensors", "--out", hf.toString()));
        assertEquals(0, cli(err, "export", "--run-dir", runDir.toString(), "--format", "safetensors", "--out", hf.toString(),
                "--force"), err.toString());
        try (var l = Files.list(hf)) {
            assertEquals(List.of("config.json", "model.safetensors"), l.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void generateBoundsItsLengthStreamsItsTokensAndSaysWhenThePromptIsCut() {
        // 2147483647 exited 1 with NegativeArraySizeException; 100,000,000 printed nothing for minutes
        for (String n : new String[] {"2147483647", "100001", "0"}) {
            java.io.StringWriter err = new java.io.StringWriter();
            assertEquals(2, cli(err, "generate", "--run-dir", runDir.toString(), "--tokens", n), err.toString());
            assertTrue(err.toString().startsWith("error: --tokens " + n + ": give 1 to 100000"), err.toString());
        }
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        String prompt = "the cat sat on the mat . ".repeat(30); // over 200 tokens; the tiny model's context is 128
        assertEquals(0, slt.cli.Main.run(new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true), "generate",
                "--run-dir", runDir.toString(), "--prompt", prompt, "--tokens", "5", "--temperature", "0"), err.toString());
        assertTrue(err.toString().contains("the prompt has " + Gpt2Tokenizer.encode(prompt).length + " tokens") && err.toString().contains("last 128"), err.toString());
        assertTrue(out.toString().startsWith(prompt) && out.toString().length() > prompt.length(), out.toString());

        try (LoadedModel m = LoadedModel.fromRun(runDir, LoadedModel.Which.LATEST, null, List.of())) {
            List<Integer> streamed = new ArrayList<>();
            int[] ids = TextGenerator.generate(m.model(), m.manager(), Gpt2Tokenizer.encode("a"), 6, 1.0, 0, 3, streamed::add);
            assertEquals(java.util.Arrays.stream(ids).boxed().toList(), streamed, "each token handed on as it comes");
        }
    }
}
