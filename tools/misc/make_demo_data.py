"""Write the embedded demo datasets (ImageNet, Places365 and COCO formats).

    python tools/misc/make_demo_data.py [OUT]   # default: data/demo

Deterministic and offline; takes seconds.
"""
import argparse
import os.path as osp
import time

from se_plugin.testing.demo_data import make_all


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', nargs='?', default='data/demo')
    args = parser.parse_args()
    if osp.isfile(args.out):
        parser.error(f'OUT {args.out} is a file; the datasets go into a '
                     'folder')
    start = time.time()
    make_all(args.out)
    print(f'demo datasets written to {args.out}/{{imagenet,places365,coco}} '
          f'in {time.time() - start:.1f}s')


if __name__ == '__main__':
    main()
