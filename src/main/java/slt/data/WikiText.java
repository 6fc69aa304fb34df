package slt.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import slt.UserError;
import slt.config.Config;

/**
 * The WikiText layout: a directory holding {@code wiki.train.raw}, {@code wiki.valid.raw},
 * {@code wiki.test.raw} (or the word-level {@code .tokens} files). Articles start with a
 * top-level heading line {@code " = Title = "}; section headings have more {@code =}.
 */
public final class WikiText {
    private WikiText() {}

    /** The file of {@code split} in {@code dir}, or a one-line error naming it and the download command. */
    public static Path file(Path dir, Config.Split split, Config.Variant variant) {
        String name = "wiki." + split.name().toLowerCase(Locale.ROOT) + "." + variant.name().toLowerCase(Locale.ROOT);
        Path file = dir.resolve(name);
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new UserError("data.path " + dir + " is a file: point it at the directory holding " + name
                    + " (e.g. data/wikitext-103)");
        }
        if (!Files.isRegularFile(file)) {
            String dataset = dir.getFileName() != null && dir.getFileName().toString().contains("wikitext-2")
                    ? "wikitext-2" : "wikitext-103";
            throw new UserError("data file " + file + " not found: point data.path at the directory holding " + name
                    + ", or set data.path=data/" + dataset + " and", new UserError.Fix.Download(dataset, variant == Config.Variant.TOKENS));
        }
        return file;
    }

    /** True for a top-level heading line, which starts an article: {@code " = Title = \n"}. */
    public static boolean isArticleHeading(String line) {
        String s = line.endsWith("\n") ? line.substring(0, line.length() - 1) : line;
        return s.startsWith(" = ") && s.endsWith(" = ") && s.length() > 6 && s.charAt(3) != '=';
    }
}
