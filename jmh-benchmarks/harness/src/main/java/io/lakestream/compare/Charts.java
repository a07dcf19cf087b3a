package io.lakestream.compare;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYErrorRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;

/** PNG plots of a run (JFreeChart, headless): throughput vs producers, latency CDFs, commit rate vs history, DAC. */
final class Charts {
    private static final int W = 900;
    private static final int H = 520;

    private Charts() {}

    static List<Path> write(Map<String, Object> r, Path dir, String prefix) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<Path> out = new ArrayList<>();
        Map<String, Object> ingest = Summary.map(r.get("ingest"));
        if (ingest != null) {
            YIntervalSeriesCollection c = new YIntervalSeriesCollection();
            for (Map.Entry<String, Object> s : ingest.entrySet()) {
                YIntervalSeries x = new YIntervalSeries(Summary.label(s.getKey()));
                for (Map.Entry<String, Object> e : Summary.map(s.getValue()).entrySet()) {
                    Map<String, Object> m = Summary.map(e.getValue());
                    addWithInterval(x, Double.parseDouble(e.getKey()), Compare.num(m, "mb_per_s"), m.get("mb_per_s_ci"));
                }
                c.addSeries(x);
            }
            JFreeChart ch = ChartFactory.createXYLineChart("Ingestion throughput (median, 95 % interval)", "producers", "MB/s", c,
                    PlotOrientation.VERTICAL, true, false, false);
            out.add(save(withErrorBars(style(ch, true)), dir.resolve(prefix + "-ingest.png")));
        }
        out.addAll(cdf(Summary.map(r.get("latency")), "Append to visible latency (CDF)", dir.resolve(prefix + "-latency-cdf.png")));
        out.addAll(cdf(Summary.map(r.get("fetch")), "Fetch latency per rank shard, written data (CDF)", dir.resolve(prefix + "-fetch-cdf.png")));
        Map<String, Object> growth = Summary.map(r.get("growth"));
        if (growth != null && !growth.isEmpty()) {
            YIntervalSeriesCollection c = new YIntervalSeriesCollection();
            for (Map.Entry<String, Object> s : growth.entrySet()) {
                YIntervalSeries x = new YIntervalSeries("Lakestream " + s.getKey() + "://");
                for (Map.Entry<String, Object> e : Summary.map(s.getValue()).entrySet()) {
                    Map<String, Object> m = Summary.map(e.getValue());
                    Object v = m.get("start_versions") != null ? m.get("start_versions") : m.get("start_steps");
                    addWithInterval(x, Math.max(1, ((Number) v).doubleValue()), Compare.num(m, "commits_per_s"), m.get("commits_per_s_ci"));
                }
                c.addSeries(x);
            }
            JFreeChart ch = ChartFactory.createXYLineChart("Commit rate as the log grows (one producer, one version per step)",
                    "manifest versions", "commits/s", c, PlotOrientation.VERTICAL, true, false, false);
            withErrorBars(ch);
            LogAxis ax = new LogAxis("manifest versions in the log (log)");
            ax.setBase(10);
            ch.getXYPlot().setDomainAxis(ax);
            ((NumberAxis) ch.getXYPlot().getRangeAxis()).setAutoRangeIncludesZero(true);
            out.add(save(ch, dir.resolve(prefix + "-growth.png")));
        }
        Map<String, Object> dac = Summary.map(r.get("dac"));
        if (dac != null && !dac.isEmpty()) {
            XYSeriesCollection c = new XYSeriesCollection();
            CombinedDomainXYPlot series = new CombinedDomainXYPlot(new NumberAxis("seconds"));
            XYSeriesCollection groups = new XYSeriesCollection();
            XYSeriesCollection conflicts = new XYSeriesCollection();
            for (Map.Entry<String, Object> s : dac.entrySet()) {
                for (Map.Entry<String, Object> v : Summary.map(s.getValue()).entrySet()) {
                    XYSeries x = new XYSeries(s.getKey() + ":// " + v.getKey());
                    String largest = null;
                    for (Map.Entry<String, Object> e : Summary.map(v.getValue()).entrySet()) {
                        x.add(Double.parseDouble(e.getKey()), Compare.num(Summary.map(e.getValue()), "steps_per_s"));
                        largest = e.getKey();
                    }
                    c.addSeries(x);
                    if (largest != null) {
                        String name = s.getKey() + ":// " + v.getKey() + ", " + largest + " producers";
                        XYSeries g = new XYSeries(name);
                        XYSeries k = new XYSeries(name);
                        Object raw = Summary.map(Summary.map(v.getValue()).get(largest)).get("series");
                        if (raw instanceof List<?> points) {
                            for (Object p : points) {
                                Map<String, Object> m = Summary.map(p);
                                g.add(Compare.num(m, "t_s"), Compare.num(m, "mean_group"));
                                k.add(Compare.num(m, "t_s"), Compare.num(m, "conflicts"));
                            }
                        }
                        groups.addSeries(g);
                        conflicts.addSeries(k);
                    }
                }
            }
            JFreeChart ch = ChartFactory.createXYLineChart("Steps per second vs producers (tiny steps)", "producers", "steps/s", c,
                    PlotOrientation.VERTICAL, true, false, false);
            out.add(save(style(ch, true), dir.resolve(prefix + "-dac.png")));
            series.add(new XYPlot(groups, null, new NumberAxis("mean group size"), lines(false)), 1);
            XYLineAndShapeRenderer second = lines(false);
            second.setDefaultSeriesVisibleInLegend(false); // same series, same colours as above
            series.add(new XYPlot(conflicts, null, new NumberAxis("conflicts (cumulative)"), second), 1);
            JFreeChart sc = new JFreeChart("Group size and conflicts over time", JFreeChart.DEFAULT_TITLE_FONT, series, true);
            sc.setBackgroundPaint(Color.WHITE);
            out.add(save(sc, dir.resolve(prefix + "-dac-series.png")));
        }
        return out;
    }

    private static List<Path> cdf(Map<String, Object> section, String title, Path file) throws IOException {
        if (section == null || section.isEmpty()) {
            return List.of();
        }
        XYSeriesCollection c = cdfSeries(section);
        JFreeChart ch = ChartFactory.createXYLineChart(title, "ms", "fraction of steps", c, PlotOrientation.VERTICAL, true, false, false);
        LogAxis ax = new LogAxis("milliseconds (log)");
        ax.setBase(10);
        ch.getXYPlot().setDomainAxis(ax);
        return List.of(save(style(ch, false), file));
    }

    /**
     * One series per side of a latency or fetch section, from its {@code cdf}: the run's own
     * {@code double[][]} (a run plots before it writes its JSON) or the JSON's lists (a replot).
     * The run's arrays used to be skipped, which left every CDF plot empty.
     */
    static XYSeriesCollection cdfSeries(Map<String, Object> section) {
        XYSeriesCollection c = new XYSeriesCollection();
        for (Map.Entry<String, Object> e : section.entrySet()) {
            XYSeries x = new XYSeries(Summary.label(e.getKey()), false);
            Object raw = Summary.map(e.getValue()).get("cdf");
            if (raw instanceof double[][] points) {
                for (double[] xy : points) {
                    x.add(Math.max(1e-3, xy[0]), xy[1]);
                }
            } else if (raw instanceof List<?> points) {
                for (Object p : points) {
                    List<?> xy = (List<?>) p;
                    x.add(Math.max(1e-3, ((Number) xy.get(0)).doubleValue()), ((Number) xy.get(1)).doubleValue());
                }
            }
            c.addSeries(x);
        }
        return c;
    }

    /**
     * Draws the plots of a written run again, beside its JSON:
     * {@code java -cp <harness jar and lib> io.lakestream.compare.Charts compare-full.json}.
     */
    public static void main(String[] args) throws IOException {
        if (args.length != 1 || !args[0].endsWith(".json")) {
            System.err.println("usage: Charts <run>/compare-<mode>.json   (draws its plots again beside it)");
            System.exit(2);
        }
        Path json = Path.of(args[0]).toAbsolutePath();
        Map<String, Object> r = Compare.parse(java.nio.file.Files.readString(json));
        String name = json.getFileName().toString();
        for (Path p : write(r, json.getParent(), name.substring(0, name.length() - ".json".length()))) {
            System.out.println("wrote " + p);
        }
    }

    /** Distinct on white, same order in every plot. */
    private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e),
        new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x17becf)};

    private static XYLineAndShapeRenderer lines(boolean shapes) {
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, shapes);
        for (int i = 0; i < PALETTE.length; i++) {
            r.setSeriesStroke(i, new BasicStroke(2f));
            r.setSeriesPaint(i, PALETTE[i]);
        }
        return r;
    }

    private static JFreeChart style(JFreeChart ch, boolean shapes) {
        ch.setBackgroundPaint(Color.WHITE);
        XYPlot p = ch.getXYPlot();
        p.setBackgroundPaint(Color.WHITE);
        p.setDomainGridlinePaint(Color.LIGHT_GRAY);
        p.setRangeGridlinePaint(Color.LIGHT_GRAY);
        p.setRenderer(lines(shapes));
        return ch;
    }

    private static void addWithInterval(YIntervalSeries x, double at, double value, Object ci) {
        Stats.Interval iv = Stats.Interval.of(ci);
        boolean known = !Double.isNaN(iv.lo()) && !Double.isNaN(iv.hi());
        x.add(at, value, known ? iv.lo() : value, known ? iv.hi() : value);
    }

    /** Styles {@code ch} and draws each point's interval as a vertical bar, lines between the medians. */
    private static JFreeChart withErrorBars(JFreeChart ch) {
        style(ch, true);
        XYErrorRenderer er = new XYErrorRenderer();
        er.setDrawXError(false);
        er.setDrawYError(true);
        er.setDefaultLinesVisible(true);
        er.setDefaultShapesVisible(true);
        er.setErrorStroke(new BasicStroke(1.5f));
        for (int i = 0; i < PALETTE.length; i++) {
            er.setSeriesStroke(i, new BasicStroke(2f));
            er.setSeriesPaint(i, PALETTE[i]);
        }
        ch.getXYPlot().setRenderer(er);
        return ch;
    }

    private static Path save(JFreeChart ch, Path file) throws IOException {
        ChartUtils.saveChartAsPNG(file.toFile(), ch, W, H);
        return file;
    }
}
