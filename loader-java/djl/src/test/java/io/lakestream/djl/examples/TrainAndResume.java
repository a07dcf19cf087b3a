package io.lakestream.djl.examples;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.lakestream.djl.LakestreamBatch;
import io.lakestream.djl.LakestreamDataset;
import io.lakestream.retention.Checkpoints;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;

/**
 * A DJL training loop on a Lakestream stream that checkpoints and resumes exactly.
 *
 * <pre>
 *   train  STREAM_URI CKPT_DIR SEQ_LEN CKPT_AT   train a fresh model on the (closed) stream; once
 *                                                CKPT_AT steps are trained, save a checkpoint (the
 *                                                parameters, with the dataset position as a model
 *                                                property) and record it in the stream's log
 *   resume STREAM_URI CKPT_DIR SEQ_LEN           load the checkpoint and train on from its position
 * </pre>
 * Both print {@code step S loss BITS} per step (the loss as float bits) and at the end
 * {@code params SHA256}. {@code TrainAndResumeTest} runs them in two JVMs: the resumed run must
 * continue on exactly the next step with bit-identical losses and final parameters.
 *
 * <p>The model, an MLP, reconstructs each sample's token ids scaled to [0, 1): data and labels
 * are the same {@code tokens} tensor (the dataset's default labels) made float by the dataset's
 * pipelines. Plain SGD keeps no optimizer state, so the parameters are the whole model state and
 * the dataset's {@code nextStep()} the whole data state.
 */
public final class TrainAndResume {
    /** The model property that carries the dataset position through a checkpoint. */
    public static final String NEXT_STEP = "lakestream.next_step";

    private TrainAndResume() {}

    public static void main(String[] args) throws Exception {
        boolean resume = args[0].equals("resume");
        Path ckpt = Path.of(args[2]);
        int seqLen = Integer.parseInt(args[3]);
        long checkpointAt = resume ? -1 : Long.parseLong(args[4]);
        try (ObjectStore store = ObjectStores.open(args[1], false); Model model = model(seqLen)) {
            long start = 0;
            if (resume) {
                model.load(ckpt, "mlp");
                start = model.longProperty(NEXT_STEP, 0);
            }
            try (Trainer trainer = trainer(model, seqLen);
                 LakestreamDataset ds = dataset(store).startStep(start).build()) {
                // One epoch = the rest of the closed stream; it ends at once at the end.
                for (Batch batch : trainer.iterateDataset(ds)) {
                    try (batch) {
                        EasyTrain.trainBatch(trainer, batch);
                        trainer.step();
                    }
                    if (ds.nextStep() == checkpointAt) {
                        model.setProperty(NEXT_STEP, Long.toString(ds.nextStep()));
                        model.save(ckpt, "mlp");
                        // only once the checkpoint is durable may the stream reclaim the steps before it
                        Checkpoints.record(store, ds.nextStep(), "mlp@" + ds.nextStep());
                    }
                }
            }
            System.out.println("params " + digest(model));
        }
    }

    /** Rank 0 of 1; labels default to the tokens; both made float in [0, 1) by the pipelines. */
    public static LakestreamDataset.Builder dataset(ObjectStore store) {
        return LakestreamDataset.builder(store, 0, 1)
                .data("tokens")
                .addTransform(TrainAndResume::scaled)
                .addTargetTransform(TrainAndResume::scaled)
                .timeoutMillis(60_000);
    }

    static NDArray scaled(NDArray tokens) {
        return tokens.toType(DataType.FLOAT32, false).div(SyntheticSource.VOCAB);
    }

    public static Model model(int seqLen) {
        Model model = Model.newInstance("mlp");
        model.setBlock(new SequentialBlock()
                .add(Linear.builder().setUnits(32).build())
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(seqLen).build()));
        return model;
    }

    /** A CPU trainer: fixed seed, SGD, L2 loss; prints each step's loss (and calls {@code more} listeners). */
    public static Trainer trainer(Model model, int seqLen, TrainingListener... more) {
        Engine.getInstance().setRandomSeed(7);
        DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.l2Loss())
                .optDevices(new Device[] {Device.cpu()})
                .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.05f)).build())
                .addTrainingListeners(new PrintLoss())
                .addTrainingListeners(more);
        Trainer trainer = model.newTrainer(config);
        trainer.initialize(new Shape(1, seqLen));
        return trainer;
    }

    /** Prints each step's loss as float bits, so that two runs can be compared exactly. */
    static final class PrintLoss extends TrainingListenerAdapter {
        @Override
        public void onTrainingBatch(Trainer trainer, TrainingListener.BatchData data) {
            NDList labels = data.getLabels().values().iterator().next();
            NDList preds = data.getPredictions().values().iterator().next();
            float loss = trainer.getLoss().evaluate(labels, preds).getFloat();
            System.out.printf("step %d loss %08x%n", ((LakestreamBatch) data.getBatch()).step(), Float.floatToRawIntBits(loss));
        }
    }

    static String digest(Model model) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        for (Map.Entry<String, Parameter> p : model.getBlock().getParameters().toMap().entrySet()) {
            sha.update(p.getKey().getBytes(StandardCharsets.UTF_8));
            sha.update(p.getValue().getArray().toByteBuffer());
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
