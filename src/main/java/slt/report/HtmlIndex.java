package slt.report;

import java.util.List;

/** index.html: the report's header, tables, plots and notes in one static page (relative links, no scripts). */
final class HtmlIndex {
    private static final String STYLE = """
            body { font-family: sans-serif; margin: 2em; color: #222; }
            table { border-collapse: collapse; margin-bottom: 1.5em; }
            th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; white-space: nowrap; }
            th { background: #eee; }
            td:nth-child(2) { text-align: left; }
            figure { margin: 1em 0 2em 0; }
            figcaption { font-size: 0.9em; color: #555; max-width: 60em; }
            """;

    private HtmlIndex() {}

    static String render(Report.Content c) {
        StringBuilder b = new StringBuilder();
        b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
                .append(esc(c.title())).append("</title>\n<style>\n").append(STYLE).append("</style>\n</head>\n<body>\n");
        b.append("<h1>").append(esc(c.title())).append("</h1>\n");
        list(b, c.header());
        b.append("<p>Files:");
        c.files().forEach(f -> b.append(" <a href=\"").append(esc(f)).append("\">").append(esc(f)).append("</a>"));
        b.append("</p>\n");
        for (Tables.Table t : c.tables()) {
            b.append("<h2>").append(esc(t.title())).append("</h2>\n<table>\n<tr>");
            t.header().forEach(h -> b.append("<th>").append(esc(h)).append("</th>"));
            b.append("</tr>\n");
            for (List<String> row : t.rows()) {
                b.append("<tr>");
                row.forEach(cell -> b.append("<td>").append(esc(cell)).append("</td>"));
                b.append("</tr>\n");
            }
            b.append("</table>\n");
        }
        b.append("<h2>Plots</h2>\n");
        for (Plots.Figure f : c.figures()) {
            b.append("<figure>\n<img src=\"").append(esc(f.file())).append("\" width=\"").append(f.width())
                    .append("\" height=\"").append(f.height()).append("\" alt=\"").append(esc(f.title())).append("\">\n")
                    .append("<figcaption><b>").append(esc(f.title())).append(".</b> ").append(esc(f.caption()))
                    .append("</figcaption>\n</figure>\n");
        }
        if (!c.notes().isEmpty()) {
            b.append("<h2>Notes</h2>\n");
            list(b, c.notes());
        }
        return b.append("</body>\n</html>\n").toString();
    }

    private static void list(StringBuilder b, List<String> items) {
        b.append("<ul>\n");
        items.forEach(i -> b.append("<li>").append(esc(i)).append("</li>\n"));
        b.append("</ul>\n");
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
