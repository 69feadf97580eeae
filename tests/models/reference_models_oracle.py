# Test oracle: builds the reference's G and D (BigGAN-PyTorch, imported from REF_DIR) for a
# config.json, seeded, and writes a fixture-style case folder: init/G.pth, init/D.pth and io.h5
# with shared_y, G/D eval and train outputs and the state dicts after the train-mode forward.
# Usage: python3 reference_models_oracle.py REF_DIR CASE_DIR   (CASE_DIR/config.json must exist)
import json
import os
import sys

import h5py
import torch

torch.set_num_threads(1)
ref_dir, case_dir = sys.argv[1], sys.argv[2]
sys.path.insert(0, ref_dir)
config = json.load(open(os.path.join(case_dir, 'config.json')))
model = __import__(config['model'])
config['G_activation'] = torch.nn.ReLU(inplace=False)
config['D_activation'] = torch.nn.ReLU(inplace=False)

torch.manual_seed(config.get('seed', 0))
G = model.Generator(**config)
D = model.Discriminator(**config)
os.makedirs(os.path.join(case_dir, 'init'), exist_ok=True)
torch.save(G.state_dict(), os.path.join(case_dir, 'init', 'G.pth'))
torch.save(D.state_dict(), os.path.join(case_dir, 'init', 'D.pth'))

torch.manual_seed(1234)
B, R = 4, config['resolution']
z = torch.randn(B, G.dim_z)
y = torch.randint(0, config['n_classes'], (B,))
x = torch.rand(B, 3, R, R) * 2 - 1
with torch.no_grad():
    G.eval()
    D.eval()
    shared_y = G.shared(y)
    G_eval = G(z, shared_y)
    D_eval = D(x, y)
    G.train()
    D.train()
    G_train = G(z, G.shared(y))
    D_train = D(x, y)

with h5py.File(os.path.join(case_dir, 'io.h5'), 'w') as f:
    for name, t in [('z', z), ('y', y), ('x', x), ('shared_y', shared_y), ('G_eval_out', G_eval),
                    ('D_eval_out', D_eval), ('G_train_out', G_train), ('D_train_out', D_train)]:
        f[name] = t.numpy()
    for prefix, net in [('G_after_train_forward', G), ('D_after_train_forward', D)]:
        for k, v in net.state_dict().items():
            f[prefix + '/' + k] = v.numpy()
print('keys', len(G.state_dict()), len(D.state_dict()))
