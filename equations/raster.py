"""The compiled network's input layer: the raster read from a file at run time, and the run's end at its last row.

A TimedArray's shape and a run's duration are compiled into a standalone
binary, so a binary made with them serves one number of steps. The input
layer of ``cpp_standalone`` therefore reads ``raster_spike(step, i, n)``: the
raster as bytes (steps x n inputs, 1 = spike), loaded on the first call from
the file named by the environment variable ``RASTER_ENV``. The call for the
last row also sets ``Network::_globally_stopped`` (the flag Brian2's Ctrl-C
handler sets), so the network, compiled for up to ``MAX_STEPS`` steps, stops
after that step: one binary runs any number of steps.
"""

from brian2 import check_units, implementation

from bio_sleep.sleep.brian2_cache import RASTER_ENV

# The duration a standalone network is compiled for; a run ends at its raster's last row.
MAX_STEPS = 10**9

INPUT_THRESHOLD = "raster_spike(t_in_timesteps, i, N) > 0.5"

CPP_CODE = (
    r"""
static std::vector<char> _raster;
static int64_t _raster_steps = -1;

static void _load_raster(const int64_t n)
{
    const char* path = std::getenv("%ENV%");
    std::ifstream file(path ? path : "", std::ios::binary | std::ios::ate);
    const std::streamoff size = file ? (std::streamoff)file.tellg() : 0;
    if (size <= 0 || size % n) {
        std::cout << "error: no input raster of " << n << " inputs per step in $%ENV%" << std::endl;
        std::exit(3);
    }
    _raster.resize(size);
    file.seekg(0);
    file.read(_raster.data(), size);
    _raster_steps = size / n;
}

static inline double raster_spike(const int64_t step, const int32_t i, const int32_t n)
{
    if (_raster_steps < 0)
        _load_raster(n);
    if (step + 1 >= _raster_steps)
        Network::_globally_stopped = true;
    return _raster[step * n + i];
}
"""
).replace("%ENV%", RASTER_ENV)


@implementation("cpp", CPP_CODE, headers=["<cstdlib>", "<fstream>", "<iostream>", "<vector>", '"network.h"'])
@check_units(step=1, i=1, n=1, result=1)
def raster_spike(step, i, n):
    """Defined for the compiled standalone network only (the cython target reads a TimedArray)."""
    raise NotImplementedError("raster_spike exists in compiled code only")
