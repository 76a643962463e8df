import { describe, expect, it } from 'vitest';
import { batchNorm, conv2d, dense, sequential } from './nn';
import { Rng } from './random';
import { loadTorchState, moduleTensors, toAppLayout, toTorchLayout, torchStateOf } from './torch-weights';

describe('PyTorch layouts of the app\'s weights', () => {
  it('puts a convolution kernel [kh, kw, in, out] in PyTorch\'s [out, in, kh, kw]', () => {
    const [kh, kw, cin, cout] = [1, 2, 2, 3];
    // Each value encodes its own app index: 1000·h + 100·w + 10·i + o.
    const app = new Float32Array(kh * kw * cin * cout);
    for (let h = 0; h < kh; h++) for (let w = 0; w < kw; w++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) app[((h * kw + w) * cin + i) * cout + o] = 1000 * h + 100 * w + 10 * i + o;
    const torch = toTorchLayout('x/conv0/kernel', [kh, kw, cin, cout], app);
    expect(torch.shape).toEqual([cout, cin, kh, kw]);
    for (let o = 0; o < cout; o++) for (let i = 0; i < cin; i++) for (let w = 0; w < kw; w++) expect(torch.data[((o * cin + i) * kh + 0) * kw + w]).toBe(100 * w + 10 * i + o);
    expect(toAppLayout('x/conv0/kernel', torch.shape, torch.data as Float32Array)).toEqual({ shape: [kh, kw, cin, cout], data: app });
  });

  it('puts a dense kernel [in, out] in torch.nn.Linear\'s [out, in], and leaves biases and BatchNorm as they are', () => {
    const torch = toTorchLayout('p/fc0/kernel', [2, 3], new Float32Array([1, 2, 3, 4, 5, 6]));
    expect(torch).toEqual({ name: 'p/fc0/kernel', shape: [3, 2], data: new Float32Array([1, 4, 2, 5, 3, 6]) });
    expect(toTorchLayout('p/fc0/bias', [3], new Float32Array([1, 2, 3])).shape).toEqual([3]);
    expect(toTorchLayout('p/bn0/moving_mean', [3], new Float32Array([1, 2, 3])).shape).toEqual([3]);
  });

  it('loads a state back by name, and writes nothing when a tensor is missing or misshapen', async () => {
    const build = (seed: number) => sequential(conv2d('c', new Rng(seed), 3, 4, 3), batchNorm('bn', 4), dense('fc', new Rng(seed), 4, 2));
    const source = moduleTensors([build(1)]);
    const target = moduleTensors([build(2)]);
    const state = await torchStateOf(source);
    expect(state.map((t) => t.name)).toEqual(['c/kernel', 'bn/gamma', 'bn/beta', 'fc/kernel', 'fc/bias', 'bn/moving_mean', 'bn/moving_variance']);
    const before = await target[0].variable.data();
    expect(() => loadTorchState(target, state.filter((t) => t.name !== 'fc/bias'))).toThrow(/lack 1 tensor this network needs \(fc\/bias\)/);
    const misshapen = state.map((t) => (t.name === 'fc/kernel' ? { ...t, shape: [4, 2] } : t));
    expect(() => loadTorchState(target, misshapen)).toThrow(/fc\/kernel has shape \[4, 2\] \(PyTorch layout\); this network needs \[2, 4\]/);
    expect(await target[0].variable.data()).toEqual(before);
    loadTorchState(target, state);
    for (const [i, p] of target.entries()) expect(await p.variable.data()).toEqual(await source[i].variable.data());
    [...source, ...target].forEach((p) => p.variable.dispose());
  });
});
