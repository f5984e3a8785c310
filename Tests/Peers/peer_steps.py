"""The timed training loop the PyTorch peers share (torch_bert.py, torch_t5.py)."""
import statistics, time
import torch


def timed_steps(model, opt, warmup, steps, forward, prepare=lambda i: None):
    """Runs warmup + steps steps: prepare(i) (untimed), then forward(batch) returning the loss, zero_grad,
    backward, grad-norm clipping at 1 and opt.step() (timed). Returns the median timed step in seconds
    and the last loss."""
    times, loss = [], None
    for i in range(warmup + steps):
        batch = prepare(i)
        t0 = time.perf_counter()
        loss = forward(batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i >= warmup: times.append(time.perf_counter() - t0)
    return statistics.median(times), loss
