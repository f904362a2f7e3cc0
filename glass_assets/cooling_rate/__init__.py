"""The cooling-rate study [O]: C(1−Θ,Υ) of glasses quenched at several rates, beside the paper's value."""
