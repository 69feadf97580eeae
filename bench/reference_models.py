"""The reference's models as train.py builds them, for the bench drivers (bench_models_ref.py,
layouts_ref.py): BigGAN-PyTorch's config from its own command-line flags, then seed, G, D, G_ema and
its EMA in train.py's order, on the CPU. REF_DIR is a BigGAN-PyTorch checkout; it is imported, nothing
of it is copied here."""
import contextlib
import sys
import types


def import_reference(ref_dir):
  """The reference's utils and train_fns modules, imported from ref_dir."""
  sys.path.insert(0, ref_dir)
  try:  # utils imports datasets, which imports tqdm (a progress bar; unused here)
    import tqdm  # noqa: F401
  except ImportError:
    sys.modules['tqdm'] = types.SimpleNamespace(tqdm=None, trange=None)
  import utils
  import train_fns
  return utils, train_fns


def build(utils, flags):
  """(config, model module, G, D, ema or None) for the reference's flags; what the reference prints
  while building goes to stderr (stdout is the drivers')."""
  config = vars(utils.prepare_parser().parse_args(flags))
  config['resolution'] = utils.imsize_dict[config['dataset']]
  config['n_classes'] = utils.nclass_dict[config['dataset']]
  config['G_activation'] = utils.activation_dict[config['G_nl']]
  config['D_activation'] = utils.activation_dict[config['D_nl']]
  utils.seed_rng(config['seed'])
  model = __import__(config['model'])
  ema = None
  with contextlib.redirect_stdout(sys.stderr):
    G = model.Generator(**config)
    D = model.Discriminator(**config)
    if config['ema']:
      G_ema = model.Generator(**{**config, 'skip_init': True, 'no_optim': True})
      ema = utils.ema(G, G_ema, config['ema_decay'], config['ema_start'])
  return config, model, G, D, ema
