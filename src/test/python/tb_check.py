"""Read a directory of TensorBoard event files with TensorBoard's own loaders; print JSON.

    python3 tb_check.py DIR

DIR holds event files (e.g. a run's tb/ directory written by slt.tensorboard). Prints one JSON
object with what each of TensorBoard's three readers makes of it:

  "accumulator":  event_accumulator.EventAccumulator (the classic Python API)
  "multiplexer":  plugin_event_multiplexer + MultiplexerDataProvider (what `tensorboard
                  --load_fast=false` serves)
  "data_server":  the Rust tensorboard-data-server over gRPC (what `tensorboard` serves by
                  default); null, with "data_server_error", when it cannot start

each as {"scalars": {tag: [[step, value], ...]}, "text": {tag: [[step, string], ...]}} with
every point kept (no sampling). The two server paths read scalars through the scalars plugin's
data class, as the Scalars dashboard does. Used by slt.tensorboard.TensorBoardReadTest.
"""
import json
import sys
import time


def accumulator(logdir):
    from tensorboard.backend.event_processing import event_accumulator as ea
    from tensorboard.util import tensor_util

    acc = ea.EventAccumulator(logdir, size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})
    acc.Reload()
    tags = acc.Tags()
    return {
        "scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]},
        "text": {t: [[e.step, _string(tensor_util.make_ndarray(e.tensor_proto))] for e in acc.Tensors(t)]
                 for t in tags["tensors"]},
    }


def multiplexer(logdir):
    from tensorboard.backend.event_processing import data_provider
    from tensorboard.backend.event_processing import plugin_event_multiplexer

    mux = plugin_event_multiplexer.EventMultiplexer(
        size_guidance={"tensors": 0}, tensor_size_guidance={"scalars": 0, "text": 0}, purge_orphaned_data=True)
    mux.AddRunsFromDirectory(logdir)
    mux.Reload()
    return _read(data_provider.MultiplexerDataProvider(mux, logdir))


def data_server(logdir):
    from tensorboard.data import server_ingester
    from tensorboard.util import grpc_util

    ingester = server_ingester.SubprocessServerDataIngester(
        server_ingester.get_server_binary(), logdir, reload_interval=0,  # 0: load once
        channel_creds_type=grpc_util.ChannelCredsType.LOCAL, samples_per_plugin={"scalars": 0, "text": 0})
    ingester.start()
    provider = ingester.data_provider
    # The server loads in the background; it has finished when two reads a second apart agree.
    previous = None
    deadline = time.time() + 60
    while time.time() < deadline:
        current = _read(provider)
        if current == previous and (current["scalars"] or current["text"]):
            return current
        previous = current
        time.sleep(1)
    raise RuntimeError("the data server did not settle within 60 s")


def _read(provider):
    from tensorboard import context

    ctx = context.RequestContext()
    scalars = provider.read_scalars(ctx, experiment_id="", plugin_name="scalars", downsample=1 << 30)
    tensors = provider.read_tensors(ctx, experiment_id="", plugin_name="text", downsample=1 << 30)
    return {
        "scalars": {_name(run, t): [[d.step, d.value] for d in data]
                    for run, tags in scalars.items() for t, data in tags.items()},
        "text": {_name(run, t): [[d.step, _string(d.numpy)] for d in data]
                 for run, tags in tensors.items() for t, data in tags.items()},
    }


def _name(run, tag):
    return tag if run == "." else run + ":" + tag


def _string(array):
    value = array.item() if array.size == 1 else array.reshape(-1)[0]
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def main():
    logdir = sys.argv[1]
    out = {"accumulator": accumulator(logdir), "multiplexer": multiplexer(logdir)}
    try:
        out["data_server"] = data_server(logdir)
    except Exception as e:  # reported, and judged by the caller
        out["data_server"] = None
        out["data_server_error"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
