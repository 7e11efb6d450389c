"""The distortions' names and what their intensity levels mean; importable without torch (configs read it)."""

# CF-style description of each distortion's intensity coordinate; the keys are the distortions' names.
LEVEL_ATTRIBUTES = {
    "gaussian_noise": {"long_name": "variance of the added zero-mean Gaussian noise", "units": "1"},
    "gaussian_blur": {"long_name": "standard deviation of the Gaussian blur kernel", "units": "pixel"},
    "salt_and_pepper": {"long_name": "fraction of pixels replaced by 0 or 1", "units": "1"},
    "speckle": {"long_name": "variance of the multiplicative noise", "units": "1"},
}
DISTORTION_NAMES = tuple(LEVEL_ATTRIBUTES)
