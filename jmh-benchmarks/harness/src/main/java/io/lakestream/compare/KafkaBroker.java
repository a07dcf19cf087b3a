package io.lakestream.compare;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;

/**
 * A real Kafka 4.4 broker in a child JVM: one KRaft node (broker and controller in one process)
 * on two free loopback ports, its log directory under the run's temporary directory (the same
 * disk as the Lakestream streams), formatted and started the way {@code kafka-storage.sh} and
 * {@code kafka-server-start.sh} do, with that script's heap and GC settings. Stopped on close.
 */
final class KafkaBroker implements AutoCloseable {
    /** kafka-server-start.sh's defaults (KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS). */
    private static final List<String> JVM = List.of("-Xmx1G", "-Xms1G", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent", "-Djava.awt.headless=true");

    /** The broker's and the tuned topics' largest record batch: the tuned producer's max.request.size plus headroom. */
    static final int MAX_MESSAGE_BYTES = KafkaClients.TUNED_MAX_REQUEST_BYTES + (64 << 10);

    private final Child process;
    private final String bootstrap;
    private final Admin admin;

    private KafkaBroker(Child process, String bootstrap, Admin admin) {
        this.process = process;
        this.bootstrap = bootstrap;
        this.admin = admin;
    }

    static KafkaBroker start(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        int port = freePort();
        int controllerPort = freePort();
        Path logs = dir.resolve("kafka-logs");
        Path props = dir.resolve("server.properties");
        Files.writeString(props, String.join("\n",
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
                "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                "log.dirs=" + logs,
                "num.partitions=1",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                // Large records: a broker-wide limit to match the tuned producer's max.request.size
                // (each topic sets its own max.message.bytes too).
                "message.max.bytes=" + MAX_MESSAGE_BYTES,
                "") + "\n");
        Path log4j = dir.resolve("log4j2.properties");
        Files.writeString(log4j, String.join("\n",
                "rootLogger.level=WARN",
                "rootLogger.appenderRef.f.ref=F",
                "appender.f.type=File",
                "appender.f.name=F",
                "appender.f.fileName=" + dir.resolve("broker-server.log"),
                "appender.f.layout.type=PatternLayout",
                "appender.f.layout.pattern=[%d] %p %m (%c)%n",
                ""));
        List<String> jvm = new java.util.ArrayList<>(JVM);
        jvm.add("-Dlog4j2.configurationFile=" + log4j);
        Path outLog = dir.resolve("broker.log");
        // kafka-storage.sh format (static quorum: controller.quorum.voters).
        try (Child fmt = Child.start("kafka-storage-format", jvm, "kafka.tools.StorageTool",
                List.of("format", "-t", Uuid.randomUuid().toString(), "-c", props.toString()), outLog)) {
            fmt.close();
        }
        if (!Files.exists(logs.resolve("meta.properties"))) {
            throw new IllegalStateException("Kafka storage format failed; see " + outLog);
        }
        Child broker = Child.start("kafka-broker", jvm, "kafka.Kafka", List.of(props.toString()), outLog);
        String bootstrap = "127.0.0.1:" + port;
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        Admin admin = Admin.create(ap);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (true) {
            try {
                admin.describeCluster().nodes().get(5, TimeUnit.SECONDS);
                break;
            } catch (Exception e) {
                if (System.nanoTime() > deadline) {
                    admin.close();
                    broker.terminate();
                    throw new IllegalStateException("Kafka broker did not come up within 90 s; see " + outLog, e);
                }
                Thread.sleep(200);
            }
        }
        return new KafkaBroker(broker, bootstrap, admin);
    }

    String bootstrap() {
        return bootstrap;
    }

    Child process() {
        return process;
    }

    /**
     * Creates a topic with one partition per rank (replication 1). {@code flushEachMessage} sets
     * {@code flush.messages=1}: the broker fsyncs the partition log after every append, before
     * acknowledging, as Lakestream's file:// store fsyncs before a commit succeeds. Without it the
     * broker acknowledges from the page cache (Kafka's default durability).
     */
    void createTopic(String name, int partitions, int maxMessageBytes, boolean flushEachMessage) throws Exception {
        Map<String, String> configs = new java.util.HashMap<>();
        configs.put("max.message.bytes", Integer.toString(maxMessageBytes));
        if (flushEachMessage) {
            configs.put("flush.messages", "1");
        }
        admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1).configs(configs))).all().get(60, TimeUnit.SECONDS);
        // Wait until every partition has a leader, or the first produce request races the election.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                var d = admin.describeTopics(List.of(name)).allTopicNames().get(10, TimeUnit.SECONDS).get(name);
                if (d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty())) {
                    return;
                }
            } catch (java.util.concurrent.ExecutionException e) {
                last = e; // metadata not propagated yet (UnknownTopicOrPartition): ask again
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("topic " + name + " has partitions without a leader after 30 s", last);
    }

    void deleteTopic(String name) throws Exception {
        admin.deleteTopics(List.of(name)).all().get(60, TimeUnit.SECONDS);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() {
        admin.close(java.time.Duration.ofSeconds(5));
        process.terminate(); // a broker does not watch stdin: SIGTERM is its clean shutdown
    }
}
