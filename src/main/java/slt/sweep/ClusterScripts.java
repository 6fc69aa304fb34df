package slt.sweep;

import java.nio.file.Path;

/**
 * Cluster job files for a sweep: a Slurm array script and a Kubernetes indexed Job, one point
 * per array task / pod. Each task runs {@code slt sweep run-point FILE --index i}, which skips a
 * done point and resumes a partial one from the shared checkpoint directory, so a preempted or
 * requeued task continues where it stopped. Both give the run 2-5 minutes between SIGTERM and the
 * kill, enough to finish the optimizer step and write a checkpoint.
 */
public final class ClusterScripts {
    private ClusterScripts() {}

    /** GPUs a task or pod asks for: the most replicas any point runs (array tasks are alike). */
    static int gpusPerPoint(Sweep sweep) {
        return sweep.points().stream().mapToInt(p -> p.config().run().replicas()).max().orElse(1);
    }

    /**
     * A Slurm array script. {@code workdir} is where the repository (with ./slt, configs/, data/,
     * checkpoints/) lives on the cluster; {@code SLT} in the environment overrides the command.
     */
    public static String slurm(Sweep sweep, Path workdir, String partitionOrNull, String time, int cpus) {
        int n = sweep.points().size();
        StringBuilder s = new StringBuilder();
        s.append("#!/bin/bash\n");
        s.append("# Slurm array job for sweep ").append(sweep.name()).append(" (").append(n).append(" points), written by slt sweep emit.\n");
        s.append("# Submit: sbatch ").append("<this file>").append("    Status: ./slt sweep status ").append(sweep.file()).append('\n');
        s.append("#SBATCH --job-name=slt-").append(sweep.name()).append('\n');
        s.append("#SBATCH --array=0-").append(n - 1).append('\n');
        s.append("#SBATCH --gres=gpu:").append(gpusPerPoint(sweep)).append("\n");
        s.append("#SBATCH --cpus-per-task=").append(cpus).append('\n');
        s.append("#SBATCH --time=").append(time).append('\n');
        if (partitionOrNull != null) {
            s.append("#SBATCH --partition=").append(partitionOrNull).append('\n');
        }
        s.append("#SBATCH --requeue\n");
        s.append("#SBATCH --signal=B:TERM@300   # SIGTERM 5 minutes before the limit: the run checkpoints and exits 0\n");
        s.append("#SBATCH --output=").append(sweep.dir().resolve("logs")).append("/slurm-%A_%a.out\n");
        s.append("set -euo pipefail\n");
        s.append("cd \"${SLT_HOME:-").append(workdir.toAbsolutePath().normalize()).append("}\"\n");
        s.append("mkdir -p ").append(sweep.dir().resolve("logs")).append('\n');
        s.append(": \"${SLURM_ARRAY_TASK_ID:?run this script with sbatch (or set SLURM_ARRAY_TASK_ID)}\"\n");
        s.append("exec ${SLT:-./slt} sweep run-point ").append(sweep.file()).append(" --index \"$SLURM_ARRAY_TASK_ID\"\n");
        return s.toString();
    }

    /** Where the checkpoint volume is mounted: the top directory of the sweep's run directory. */
    static String checkpointsMount(Sweep sweep) {
        Path d = sweep.dir();
        return d.isAbsolute() ? d.getParent().toString() : "/work/" + d.getName(0);
    }

    /**
     * A Kubernetes indexed Job running the Docker image of docker/Dockerfile (entry point slt),
     * with the checkpoints and data on persistent volume claims shared by all pods.
     */
    public static String kubernetes(Sweep sweep, String image, int parallelism, String checkpointsClaim, String dataClaim) {
        int n = sweep.points().size();
        String name = ("slt-" + sweep.name()).toLowerCase().replaceAll("[^a-z0-9-]", "-");
        return String.join("\n",
                "# Kubernetes indexed Job for sweep " + sweep.name() + " (" + n + " points), written by slt sweep emit.",
                "# Apply: kubectl apply -f <this file>; each pod runs one point and resumes it from the shared volume.",
                "# The sweep file and its base config are read from the image (/work/configs): rebuild it after editing them.",
                "apiVersion: batch/v1",
                "kind: Job",
                "metadata:",
                "  name: " + name,
                "spec:",
                "  completions: " + n,
                "  parallelism: " + Math.min(parallelism, n),
                "  completionMode: Indexed",
                "  backoffLimit: " + 3 * n,
                "  template:",
                "    spec:",
                "      restartPolicy: OnFailure",
                "      terminationGracePeriodSeconds: 300",
                "      containers:",
                "        - name: slt",
                "          image: " + image,
                "          workingDir: /work",
                "          args: [\"sweep\", \"run-point\", \"" + sweep.file() + "\", \"--index\", \"$(JOB_COMPLETION_INDEX)\"]",
                "          resources:",
                "            limits:",
                "              nvidia.com/gpu: " + gpusPerPoint(sweep) + "   # run.replicas of the sweep's points",
                "          volumeMounts:",
                "            - name: checkpoints",
                "              mountPath: " + checkpointsMount(sweep),
                "            - name: data",
                "              mountPath: /work/data",
                "      volumes:",
                "        - name: checkpoints",
                "          persistentVolumeClaim:",
                "            claimName: " + checkpointsClaim,
                "        - name: data",
                "          persistentVolumeClaim:",
                "            claimName: " + dataClaim,
                "");
    }
}
