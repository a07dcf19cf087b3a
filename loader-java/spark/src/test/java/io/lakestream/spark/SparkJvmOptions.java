package io.lakestream.spark;

import org.apache.spark.launcher.JavaModuleOptions;

/** Prints the JVM options Spark's own launcher gives every JVM (the --add-opens Spark needs on JDK 17+), for scripts. */
public final class SparkJvmOptions {
    private SparkJvmOptions() {}

    public static void main(String[] args) {
        System.out.println(JavaModuleOptions.defaultModuleOptions());
    }
}
