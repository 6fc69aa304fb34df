package slt.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Small synthetic files in the WikiText raw layout, and an independent heading finder. */
final class WikiFixtures {
    /** The real WikiText-103 validation split, relative to the repository root. */
    static final Path SHARED = Path.of("..", "shared", "data", "wikitext-103");

    /** A top-level heading line " = Title = " (a section heading has "= =" instead). */
    private static final Pattern HEADING = Pattern.compile("(?m)^ = [^=\\n][^\\n]* = $");

    private WikiFixtures() {}

    /** One article in the WikiText raw style: heading, blank lines, a section, non-ASCII text. */
    static String article(String title, int paragraphs) {
        StringBuilder b = new StringBuilder();
        b.append(" = ").append(title).append(" = \n \n");
        for (int p = 0; p < paragraphs; p++) {
            b.append(" ").append(title).append(" paragraph ").append(p)
                    .append(" : the naïve café near 東京 sold 1 @,@ 000 lobsters @-@ cheaply , at 3 @.@ 5 € each .\n \n");
            if (p == 0) {
                b.append(" = = Section of ").append(title).append(" = = \n \n");
            }
        }
        return b.toString();
    }

    /** A file text of {@code n} articles titled "Article 0" ... (leading blank line like the real files). */
    static String wikiText(int n, int paragraphs) {
        StringBuilder b = new StringBuilder(" \n");
        for (int i = 0; i < n; i++) {
            b.append(article("Article " + i, paragraphs));
        }
        return b.toString();
    }

    static Path write(Path file, String text) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.write(file, text.getBytes(StandardCharsets.UTF_8));
        return file;
    }

    /** Char offsets in {@code text} where top-level heading lines start (regex, not WikiText). */
    static List<Integer> headingOffsets(String text) {
        List<Integer> out = new ArrayList<>();
        Matcher m = HEADING.matcher(text);
        while (m.find()) {
            out.add(m.start());
        }
        return out;
    }

    static Path sharedValid() {
        Path p = SHARED.resolve("wiki.valid.raw");
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("real data missing: " + p.toAbsolutePath()
                    + " (tests expect ../shared/data/wikitext-103 beside the repository)");
        }
        return p;
    }
}
