package io.falconq.cli.progress;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress as a live bar on an interactive console (me.tongfei progressbar), drawn on stderr. The bar is created
 * on the first step, when the total is known.
 */
final class TerminalProgress implements Progress {
    private final String task;
    private ProgressBar bar;

    TerminalProgress(String task) {
        this.task = task;
    }

    @Override
    public synchronized void onStep(long done, long total, String label) {
        if (bar == null) {
            bar = new ProgressBarBuilder()
                    .setTaskName(task)
                    .setInitialMax(total)
                    .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
                    .setConsumer(new ConsoleProgressBarConsumer(System.err))
                    .setUpdateIntervalMillis(200)
                    .build();
        } else if (total != bar.getMax()) {
            bar.maxHint(total);
        }
        bar.stepTo(done);
        bar.setExtraMessage(label == null ? "" : label);
    }

    @Override
    public synchronized void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
