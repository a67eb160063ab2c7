package io.falconq.cli.report;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.labels.ItemLabelAnchor;
import org.jfree.chart.labels.ItemLabelPosition;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Rectangle2D;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The charts of each model in the HTML report: artifact size against ΔPPL and against mean KLD, every point
 * labelled with its variant name, and mean KLD per language when the evaluation had several. Rendered off-screen
 * into PNG bytes by JFreeChart.
 */
public final class ReportCharts {
    public static final int WIDTH = 600;
    public static final int HEIGHT = 420;
    static final Color BACKGROUND = Color.WHITE;
    /** Diamond markers of variants allocated from measured sensitivities, apart from llama.cpp's mixes. */
    static final Color ALLOCATED_RGB = new Color(0xd6, 0x27, 0x28);

    static {
        // charts are drawn into BufferedImages only; without this a JVM on a machine with a broken DISPLAY can
        // still try to reach an X server when fonts are first used
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    private ReportCharts() {
    }

    /** Size (MiB) against ΔPPL, with the original model at ΔPPL 0 for scale. */
    public static byte[] sizeVsDeltaPpl(ModelReport model) {
        List<Point> points = new ArrayList<>();
        points.add(new Point(model.source().dtype() + " (original)", mib(model.baseline().fileSizeBytes()), 0.0,
                Series.ORIGINAL));
        points.addAll(variantPoints(model, VariantReport::deltaPpl));
        return png(model.name() + ": size vs ΔPPL", "ΔPPL (lower is better)", points, false);
    }

    /** Size (MiB) against mean KLD; a log axis when every KLD is positive, since types span orders of magnitude. */
    public static byte[] sizeVsKld(ModelReport model) {
        List<Point> points = variantPoints(model, v -> v.kld().mean());
        boolean logScale = !points.isEmpty() && points.stream().allMatch(p -> p.y() > 0);
        return png(model.name() + ": size vs KL divergence", "mean KLD, nats" + (logScale ? " (log scale)" : ""),
                points, logScale);
    }

    /**
     * Mean KLD per language (categories, in the evaluation's order) for each variant (one bar series each): where a
     * variant's damage concentrates.
     */
    public static byte[] kldByLanguage(ModelReport model) {
        DefaultCategoryDataset dataset = new DefaultCategoryDataset();
        for (VariantReport v : model.variants()) {
            for (VariantReport.LanguageResult l : v.languages()) {
                dataset.addValue(l.kld().mean(), v.name(), l.language());
            }
        }
        JFreeChart chart = ChartFactory.createBarChart(model.name() + ": KL divergence per language", "language",
                "mean KLD, nats", dataset);
        chart.getTitle().setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        chart.setBackgroundPaint(BACKGROUND);
        CategoryPlot plot = chart.getCategoryPlot();
        plot.setBackgroundPaint(BACKGROUND);
        plot.setRangeGridlinePaint(new Color(0xdd, 0xdd, 0xdd));
        plot.getDomainAxis().setCategoryLabelPositions(CategoryLabelPositions.UP_90);
        BarRenderer renderer = (BarRenderer) plot.getRenderer();
        renderer.setBarPainter(new StandardBarPainter());
        renderer.setShadowVisible(false);
        return encode(chart);
    }

    /** The chart's point series: stock variants, the original, variants allocated from measurements (auto@). */
    private enum Series {
        STOCK("variants"), ORIGINAL("original"), ALLOCATED("allocated (auto@)");

        final String legend;

        Series(String legend) {
            this.legend = legend;
        }
    }

    private record Point(String label, double x, double y, Series series) {
    }

    private static List<Point> variantPoints(ModelReport model, ToDoubleFunction<VariantReport> y) {
        List<Point> points = new ArrayList<>();
        for (VariantReport v : model.variants()) {
            points.add(new Point(v.name(), mib(v.fileSizeBytes()), y.applyAsDouble(v),
                    v.allocation() != null ? Series.ALLOCATED : Series.STOCK));
        }
        return points;
    }

    private static double mib(long bytes) {
        return bytes / (1024.0 * 1024.0);
    }

    private static byte[] png(String title, String yLabel, List<Point> points, boolean logY) {
        // one series per Series constant (the allocated one only when present), unsorted, so item i of a series is
        // that series' i-th point
        boolean allocated = points.stream().anyMatch(p -> p.series() == Series.ALLOCATED);
        XYSeriesCollection dataset = new XYSeriesCollection();
        List<List<String>> labels = new ArrayList<>();
        for (Series s : Series.values()) {
            if (s == Series.ALLOCATED && !allocated) {
                continue;
            }
            XYSeries series = new XYSeries(s.legend, false, true);
            List<String> names = new ArrayList<>();
            for (Point p : points) {
                if (p.series() == s) {
                    series.add(p.x(), p.y());
                    names.add(p.label());
                }
            }
            dataset.addSeries(series);
            labels.add(names);
        }

        NumberAxis xAxis = new NumberAxis("artifact size, MiB");
        xAxis.setAutoRangeIncludesZero(true);
        ValueAxis yAxis;
        if (logY) {
            LogAxis log = new LogAxis(yLabel);
            log.setSmallestValue(1e-9);
            // whole decades only: JFreeChart's automatic ticks pick fractional powers (10^-0.2) on short ranges
            log.setAutoTickUnitSelection(false);
            log.setTickUnit(new NumberTickUnit(1.0));
            yAxis = log;
        } else {
            NumberAxis linear = new NumberAxis(yLabel);
            linear.setAutoRangeIncludesZero(true);
            yAxis = linear;
        }
        yAxis.setUpperMargin(0.12);
        xAxis.setUpperMargin(0.12);

        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(false, true);
        renderer.setSeriesPaint(0, new Color(0x1f, 0x77, 0xb4));
        renderer.setSeriesPaint(1, new Color(0x7f, 0x7f, 0x7f));
        renderer.setSeriesShape(0, new Ellipse2D.Double(-5, -5, 10, 10));
        renderer.setSeriesShape(1, new Rectangle2D.Double(-5, -5, 10, 10));
        renderer.setSeriesPaint(2, ALLOCATED_RGB);
        renderer.setSeriesShape(2, new java.awt.geom.Path2D.Double(new java.awt.Polygon(new int[]{0, 7, 0, -7},
                new int[]{-7, 0, 7, 0}, 4)));
        renderer.setDefaultItemLabelGenerator((data, series, item) -> labels.get(series).get(item));
        renderer.setDefaultItemLabelsVisible(true);
        renderer.setDefaultItemLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        renderer.setDefaultPositiveItemLabelPosition(
                new ItemLabelPosition(ItemLabelAnchor.OUTSIDE12, TextAnchor.BOTTOM_CENTER));

        XYPlot plot = new XYPlot(dataset, xAxis, yAxis, renderer);
        plot.setBackgroundPaint(BACKGROUND);
        plot.setDomainGridlinePaint(new Color(0xdd, 0xdd, 0xdd));
        plot.setRangeGridlinePaint(new Color(0xdd, 0xdd, 0xdd));
        plot.setDomainGridlineStroke(new BasicStroke(1f));
        plot.setRangeGridlineStroke(new BasicStroke(1f));

        JFreeChart chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 15), plot, true);
        chart.setBackgroundPaint(BACKGROUND);
        return encode(chart);
    }

    private static byte[] encode(JFreeChart chart) {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        try {
            ChartUtils.writeChartAsPNG(png, chart, WIDTH, HEIGHT);
        } catch (IOException e) {
            throw new UncheckedIOException("PNG encoding into memory failed", e);
        }
        return png.toByteArray();
    }
}
